import NIOCore

/// Bytes → ``Frame``s: wraps a ``FrameParser`` in NIO's `ByteToMessageDecoder`.
///
/// Use as `ByteToMessageHandler(FrameDecoder())`. A bad frame throws a ``WireError``, which the handler fires
/// as `errorCaught` (and then ignores further input); ``WireErrorHandler`` closes the connection.
public struct FrameDecoder: ByteToMessageDecoder, Sendable {
    public typealias InboundOut = Frame

    public var parser: FrameParser

    public init(limits: FrameLimits = FrameLimits()) {
        parser = FrameParser(limits: limits)
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
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
