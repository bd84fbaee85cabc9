import NIOCore

/// Frames ⇄ ``Message``s, with ``MessageCodec``. A payload that does not decode is fired as `errorCaught`
/// and closes the channel.
public final class MessageCodecHandler: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = Frame
    public typealias InboundOut = Message
    public typealias OutboundIn = Message
    public typealias OutboundOut = Frame

    private var failed = false

    public init() {}

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        do {
            let message = try MessageCodec.message(from: unwrapInboundIn(data))
            context.fireChannelRead(wrapInboundOut(message))
        } catch {
            failed = true
            context.fireErrorCaught(error)
            context.close(promise: nil)
        }
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let frame = MessageCodec.frame(unwrapOutboundIn(data), allocator: context.channel.allocator)
        context.write(wrapOutboundOut(frame), promise: promise)
    }
}

@available(*, unavailable)
extension MessageCodecHandler: Sendable {}
