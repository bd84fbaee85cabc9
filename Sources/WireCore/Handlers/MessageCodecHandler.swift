import NIOCore

/// Frames ⇄ ``Message``s, with ``MessageCodec``. A payload that does not decode is fired as `errorCaught`
/// and closes the channel; so is a message to send whose payload exceeds the frame limit
/// (``WireError/messageTooLarge(message:length:limit:)``, its write failing), which the peer would refuse.
public final class MessageCodecHandler: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = Frame
    public typealias InboundOut = Message
    public typealias OutboundIn = Message
    public typealias OutboundOut = Frame

    private var failed = false
    private let limits: FrameLimits

    public init(limits: FrameLimits = FrameLimits()) {
        self.limits = limits
    }

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
        let frame: Frame
        do {
            frame = try MessageCodec.frame(unwrapOutboundIn(data), limits: limits, allocator: context.channel.allocator)
        } catch {
            promise?.fail(error)
            context.fireErrorCaught(error)
            return
        }
        context.write(wrapOutboundOut(frame), promise: promise)
    }
}

@available(*, unavailable)
extension MessageCodecHandler: Sendable {}
