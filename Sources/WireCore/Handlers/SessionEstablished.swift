/// Outbound user event from ``HandshakeHandler`` to ``SessionHandler``: from now on, seal and verify every
/// frame with this session.
public struct SessionEstablished: Sendable {
    public var session: Session

    public init(session: Session) {
        self.session = session
    }
}
