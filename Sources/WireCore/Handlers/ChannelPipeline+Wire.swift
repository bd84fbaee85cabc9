import NIOCore

extension ChannelPipeline.SynchronousOperations {
    /// Adds the wire protocol stack, in order:
    /// `FrameDecoder`/`FrameEncoder` → ``SessionHandler`` → ``MessageCodecHandler`` → ``HandshakeHandler`` →
    /// ``WireErrorHandler``. Handlers added after it read and write ``Message``s; they see
    /// ``WireEvent/authenticated(peer:version:)`` first, and no message before it. Until then the decoder
    /// refuses frames larger than a handshake's (``AuthenticationGate``).
    public func addWireHandlers(
        handshake: Handshake.Configuration,
        limits: FrameLimits = FrameLimits(),
        authenticated: EventLoopPromise<PeerIdentity>? = nil,
        reportError: @escaping @Sendable (any Error) -> Void
    ) throws {
        let gate = AuthenticationGate()
        try addHandler(ByteToMessageHandler(FrameDecoder(limits: limits, gate: gate)))
        try addHandler(MessageToByteHandler(FrameEncoder()))
        try addHandler(SessionHandler())
        try addHandler(MessageCodecHandler(limits: limits))
        try addHandler(HandshakeHandler(configuration: handshake, authenticated: authenticated, gate: gate))
        try addHandler(WireErrorHandler(report: reportError))
    }
}
