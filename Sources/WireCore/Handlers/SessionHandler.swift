import NIOCore

/// Frames ⇄ frames: verifies the MAC and sequence number of every incoming frame and seals every outgoing
/// frame, once a ``SessionEstablished`` event installs the session.
///
/// Before that, only unsealed handshake frames (hello, challenge, response, welcome, error) pass in either
/// direction; anything else is a ``WireError/notAuthenticated(_:)``. After it, an unsealed frame, a bad MAC
/// or an out-of-order sequence number is fatal. Fatal errors are fired as `errorCaught` and close the channel.
public final class SessionHandler: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = Frame
    public typealias InboundOut = Frame
    public typealias OutboundIn = Frame
    public typealias OutboundOut = Frame

    private var session: Session?
    private var failed = false

    public init() {}

    /// Whether a session is installed.
    public var isEstablished: Bool { session != nil }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        let frame = unwrapInboundIn(data)
        if var session {
            do {
                let opened = try session.open(frame)
                self.session = session
                context.fireChannelRead(wrapInboundOut(opened))
            } catch {
                fail(context: context, error: error)
            }
        } else if !frame.isSealed && frame.kind.isHandshake {
            context.fireChannelRead(data)
        } else {
            fail(context: context, error: .notAuthenticated(frame.kind))
        }
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard !failed else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        let frame = unwrapOutboundIn(data)
        if var session {
            do {
                let sealed = try session.seal(frame)
                self.session = session
                context.write(wrapOutboundOut(sealed), promise: promise)
            } catch {
                promise?.fail(error)
                fail(context: context, error: error)
            }
        } else if frame.kind.isHandshake {
            context.write(data, promise: promise)
        } else {
            promise?.fail(WireError.notAuthenticated(frame.kind))
        }
    }

    public func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        if let established = event as? SessionEstablished {
            session = established.session
            promise?.succeed()
        } else {
            context.triggerUserOutboundEvent(event, promise: promise)
        }
    }

    private func fail(context: ChannelHandlerContext, error: WireError) {
        failed = true
        context.fireErrorCaught(error)
        context.close(promise: nil)
    }
}

@available(*, unavailable)
extension SessionHandler: Sendable {}
