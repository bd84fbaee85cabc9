import GuestProtocol
import NIOCore

/// NIO decoder for the guest channel: feeds bytes to the pure `GuestFrameDecoder`, emits `GuestMessage`s.
public struct GuestMessageDecoder: ByteToMessageDecoder {
    public typealias InboundOut = GuestMessage
    private var frames = GuestFrameDecoder()

    public init() {}

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        if buffer.readableBytes > 0, let bytes = buffer.readBytes(length: buffer.readableBytes) {
            frames.append(bytes)
        }
        guard let message = try frames.next() else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(message))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        try decode(context: context, buffer: &buffer)
    }
}

/// NIO encoder for the guest channel.
public struct GuestMessageEncoder: MessageToByteEncoder {
    public typealias OutboundIn = GuestMessage

    public init() {}

    public func encode(data: GuestMessage, out: inout ByteBuffer) throws {
        out.writeBytes(GuestFrame.encode(data))
    }
}
