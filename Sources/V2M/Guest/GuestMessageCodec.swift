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
        // The pure decoder keeps its own buffer, so drain every complete message now: NIO only calls back
        // when its (now empty) buffer gets more bytes.
        while let message = try frames.next() {
            context.fireChannelRead(wrapInboundOut(message))
        }
        return .needMoreData
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
