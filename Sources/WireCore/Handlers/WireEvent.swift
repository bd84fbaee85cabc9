/// Inbound user events fired by the wire handlers for the application's handlers.
public enum WireEvent: Hashable, Sendable {
    /// The handshake succeeded; application messages flow from now on.
    case authenticated(peer: PeerIdentity, version: ProtocolVersion)
}
