/// What kind of vhpc agent sits at one end of a connection.
public enum PeerRole: UInt8, CaseIterable, Hashable, Sendable {
    case frontEnd = 1
    case controller = 2
    case rootAgent = 3
    case sessionAgent = 4
    case toolAgent = 5
    case guestAgent = 6
}
