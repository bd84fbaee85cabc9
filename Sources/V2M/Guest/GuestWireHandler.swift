import GuestProtocol
import NIOCore
import Wire

/// Between the Wire handlers and the guest channel's dispatcher: Wire ``Message``s in, ``GuestMessage``s
/// out, and back (``GuestWireTranslator``). A message the guest channel does not use, or a gap in an I/O
/// stream, closes the channel with the reason.
final class GuestWireHandler: ChannelDuplexHandler {
    typealias InboundIn = Message
    typealias InboundOut = GuestMessage
    typealias OutboundIn = GuestMessage
    typealias OutboundOut = Message

    private var translator: GuestWireTranslator

    init(rank: UInt32) {
        translator = GuestWireTranslator(rank: rank)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        do {
            let message = try translator.guestMessage(from: unwrapInboundIn(data))
            context.fireChannelRead(wrapInboundOut(message))
        } catch {
            context.fireErrorCaught(error)
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        context.write(wrapOutboundOut(translator.wireMessage(for: unwrapOutboundIn(data))), promise: promise)
    }
}
