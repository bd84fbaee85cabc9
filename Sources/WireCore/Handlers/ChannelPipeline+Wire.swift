import NIOCore

extension ChannelPipeline.SynchronousOperations {
    /// Adds the wire protocol stack, in order:
    /// `FrameDecoder`/`FrameEncoder` → ``SessionHandler`` → ``MessageCodecHandler`` → ``HandshakeHandler`` →
    /// ``WireErrorHandler``. Handlers added after it read and write ``Message``s; they see
    /// ``WireEvent/authenticated(peer:version:)`` first, and no message before it.
    public func addWireHandlers(
        handshake: Handshake.Configuration,
        limits: FrameLimits = FrameLimits(),
        authenticated: EventLoopPromise<PeerIdentity>? = nil,
        reportError: @escaping @Sendable (any Error) -> Void
    ) throws {
        try addHandler(ByteToMessageHandler(FrameDecoder(limits: limits)))
        try addHandler(MessageToByteHandler(FrameEncoder()))
        try addHandler(SessionHandler())
        try addHandler(MessageCodecHandler())
        try addHandler(HandshakeHandler(configuration: handshake, authenticated: authenticated))
        try addHandler(WireErrorHandler(report: reportError))
    }
}
