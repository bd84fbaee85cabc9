import Synchronization

/// Whether a connection's handshake has succeeded, shared by its ``HandshakeHandler`` (which opens the gate)
/// and its ``FrameDecoder`` (which until then accepts only frames of handshake size).
///
/// Before authentication anyone can connect: a large frame length would make the decoder buffer up to the
/// full frame limit (2 MiB) per connection. Handshake frames are small, so a larger one is refused at once.
public final class AuthenticationGate: Sendable {
    /// Largest payload accepted before authentication (the handshake's messages are under 200 bytes).
    public static let preAuthenticationPayloadLimit = 4096

    private let open = Atomic<Bool>(false)

    public init() {}

    public var isOpen: Bool { open.load(ordering: .acquiring) }

    func openGate() { open.store(true, ordering: .releasing) }
}
