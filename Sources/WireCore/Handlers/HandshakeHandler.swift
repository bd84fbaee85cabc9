import NIOCore

/// ``Message``s ⇄ ``Message``s: runs the ``Handshake`` when the channel becomes active and withholds
/// application messages until it succeeds.
///
/// - Inbound, before authentication, every message goes to the state machine; nothing reaches the next
///   handler. After it, handshake messages are a protocol violation and everything else passes through.
/// - Outbound, messages written before authentication are queued and written (sealed) once it succeeds,
///   or failed if it does not.
/// - On success it sends ``SessionEstablished`` to the ``SessionHandler``, fires
///   ``WireEvent/authenticated(peer:version:)`` and succeeds the optional `authenticated` promise.
/// - On failure or timeout it sends the peer an ``ErrorMessage``, fires the ``WireError`` as `errorCaught`,
///   and closes the channel.
public final class HandshakeHandler: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = Message
    public typealias InboundOut = Message
    public typealias OutboundIn = Message
    public typealias OutboundOut = Message

    private var handshake: Handshake
    private var authenticated: EventLoopPromise<PeerIdentity>?
    private var timer: Scheduled<Void>?
    private var withheld: [(message: Message, promise: EventLoopPromise<Void>?)] = []
    private var flushWithheld = false
    private var established = false
    private var failed = false
    private let gate: AuthenticationGate?

    /// - Parameter gate: opened once authenticated (see ``AuthenticationGate``).
    /// - Parameter authenticated: completed with the peer's identity once authenticated, or failed with the
    ///   ``WireError`` (or a channel error if the connection closes first).
    public init(configuration: Handshake.Configuration, authenticated: EventLoopPromise<PeerIdentity>? = nil,
                gate: AuthenticationGate? = nil) {
        self.handshake = Handshake(configuration: configuration)
        self.authenticated = authenticated
        self.gate = gate
    }

    /// The state machine, for inspection.
    public var state: Handshake { handshake }

    public func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context: context) }
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        abandon(error: ChannelError.ioOnClosedChannel)
    }

    public func channelActive(context: ChannelHandlerContext) {
        start(context: context)
        context.fireChannelActive()
    }

    public func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        abandon(error: ChannelError.eof)
        context.fireChannelInactive()
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        let message = unwrapInboundIn(data)
        if established {
            if message.kind.isHandshake && message.kind != .error {
                run([.fail(.unexpectedMessage(message.kind, state: "established"))], context: context)
            } else {
                context.fireChannelRead(data)
            }
        } else {
            run(handshake.receive(message), context: context)
        }
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if established {
            context.write(data, promise: promise)
        } else if failed {
            promise?.fail(handshake.failure ?? ChannelError.ioOnClosedChannel)
        } else {
            withheld.append((unwrapOutboundIn(data), promise))
        }
    }

    public func flush(context: ChannelHandlerContext) {
        if established {
            context.flush()
        } else {
            flushWithheld = true
        }
    }

    // MARK: Running the state machine

    private func start(context: ChannelHandlerContext) {
        guard handshake.phase == .idle else { return }
        let actions = handshake.start(now: context.eventLoop.now)
        if let deadline = handshake.deadline {
            let loopBoundContext = context.loopBound
            timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
                let context = loopBoundContext.value
                run(handshake.deadlinePassed(now: context.eventLoop.now), context: context)
            }
        }
        run(actions, context: context)
    }

    private func run(_ actions: [Handshake.Action], context: ChannelHandlerContext) {
        for action in actions {
            switch action {
            case .send(let message):
                context.writeAndFlush(wrapOutboundOut(message), promise: nil)
            case .establish(let session):
                establish(session, context: context)
            case .fail(let error):
                timer?.cancel()
                failed = true
                abandon(error: error)
                context.fireErrorCaught(error)
                context.close(promise: nil)
            }
        }
    }

    private func establish(_ session: Session, context: ChannelHandlerContext) {
        timer?.cancel()
        established = true
        gate?.openGate()
        context.triggerUserOutboundEvent(SessionEstablished(session: session), promise: nil)
        context.fireUserInboundEventTriggered(WireEvent.authenticated(peer: session.peer, version: session.version))
        authenticated?.succeed(session.peer)
        authenticated = nil
        let withheld = self.withheld
        self.withheld = []
        for (message, promise) in withheld {
            context.write(wrapOutboundOut(message), promise: promise)
        }
        if flushWithheld || !withheld.isEmpty {
            flushWithheld = false
            context.flush()
        }
    }

    /// Fails everything still waiting on the handshake.
    private func abandon(error: any Error) {
        authenticated?.fail(error)
        authenticated = nil
        let withheld = self.withheld
        self.withheld = []
        for (_, promise) in withheld { promise?.fail(error) }
    }
}

@available(*, unavailable)
extension HandshakeHandler: Sendable {}
