import GuestProtocol

/// Something that happened to a VM, delivered on its event stream.
public enum VMEvent: Sendable, Equatable, CustomStringConvertible {
    case stateChanged(vm: String, from: VMState, to: VMState)
    /// The guest agent announced itself.
    case guestReady(vm: String, info: GuestInfo)
    /// The VM ended after a requested stop.
    case exited(vm: String)
    /// The VM ended without being asked to (or failed to start).
    case crashed(vm: String, reason: String)
    /// Live migration finished; the VM now runs in a new process.
    case migrated(vm: String)

    public var description: String {
        switch self {
        case .stateChanged(let vm, let from, let to): return "\(vm): \(from) → \(to)"
        case .guestReady(let vm, let info): return "\(vm): guest ready (\(info.kernelRelease))"
        case .exited(let vm): return "\(vm): exited"
        case .crashed(let vm, let reason): return "\(vm): crashed (\(reason))"
        case .migrated(let vm): return "\(vm): migrated"
        }
    }
}
