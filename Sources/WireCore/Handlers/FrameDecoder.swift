import NIOCore

/// Bytes → ``Frame``s: wraps a ``FrameParser`` in NIO's `ByteToMessageDecoder`.
///
/// Use as `ByteToMessageHandler(FrameDecoder())`. A bad frame throws a ``WireError``, which the handler fires
/// as `errorCaught` (and then ignores further input); ``WireErrorHandler`` closes the connection.
public struct FrameDecoder: ByteToMessageDecoder, Sendable {
    public typealias InboundOut = Frame

    public var parser: FrameParser
    /// The limits once ``gate`` is open; until then payloads above
    /// ``AuthenticationGate/preAuthenticationPayloadLimit`` are refused.
    private let limits: FrameLimits
    private let gate: AuthenticationGate?

    /// - Parameter gate: when given, frames larger than a handshake's are an error until the gate opens.
    public init(limits: FrameLimits = FrameLimits(), gate: AuthenticationGate? = nil) {
        self.limits = limits
        self.gate = gate
        var initial = limits
        if gate != nil { initial.maxPayloadLength = min(limits.maxPayloadLength, AuthenticationGate.preAuthenticationPayloadLimit) }
        parser = FrameParser(limits: initial)
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        if let gate, parser.limits != limits, gate.isOpen { parser.limits = limits }
        guard let frame = try parser.parse(&buffer) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(frame))
        return .continue
    }

    public mutating func decodeLast(
        context: ChannelHandlerContext,
        buffer: inout ByteBuffer,
        seenEOF: Bool
    ) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        if buffer.readableBytes > 0 {
            let buffered = buffer.readableBytes
            buffer.moveReaderIndex(forwardBy: buffered)
            throw WireError.truncatedFrame(bufferedBytes: buffered)
        }
        return .needMoreData
    }
}
