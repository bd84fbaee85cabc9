import NIOCore
import Wire

/// The tail of a trunk's pipeline: the links between this process's agents and another process's, all on one
/// authenticated connection (``LinkFrame``s). Event-loop confined.
///
/// The side that dialed the trunk opens links on it; the other side accepts them for the agents it hosts or
/// refuses. Pings are answered here, on the event loop, not by the (possibly busy) agent. When the trunk
/// closes, every link on it closes: each agent gets `.closed`, as when a connection of its own closes.
final class TrunkHandler: ChannelInboundHandler {
    typealias InboundIn = Message
    typealias OutboundOut = Message

    /// An open link's end on this side.
    private struct End {
        var local: Int
        var remote: Int
        var id: Int
        var input: AgentInput
        /// This side closed it and waits for the peer's close.
        var closing = false
    }

    private let hub: LinkHub
    private let eventLoop: any EventLoop
    private var ends: [UInt32: End] = [:]
    private var pending: [UInt32: (end: End, promise: EventLoopPromise<Void>)] = [:]
    private var nextLink: UInt32 = 1
    private var context: ChannelHandlerContext?
    /// A flush is queued on the event loop behind the writes made so far.
    private var flushQueued = false

    /// This side dialed the trunk: it opens links on it and never accepts any.
    private let dialed: Bool

    init(hub: LinkHub, dialed: Bool, eventLoop: any EventLoop) {
        self.hub = hub
        self.dialed = dialed
        self.eventLoop = eventLoop
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil  // the context holds this handler: keeping it would keep both forever
    }

    // MARK: Called by link ends and the hub (on the event loop)

    /// Opens a link from local agent `local` to `remote` in the peer process; succeeds once accepted, when
    /// `.opened` has been given to `input`.
    func open(from local: Int, to remote: Int, input: AgentInput, timeout: Duration) -> EventLoopFuture<Void> {
        guard let context, context.channel.isActive else { return eventLoop.makeFailedFuture(LinkError.trunkClosed) }
        let promise = context.eventLoop.makePromise(of: Void.self)
        let link = nextLink
        nextLink &+= 1
        pending[link] = (End(local: local, remote: remote, id: LinkHub.nextLinkID(), input: input), promise)
        write(LinkFrame(link: link, source: UInt32(local), destination: UInt32(remote), operation: .open), context)
        context.eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(Int64(timeout.milliseconds) * 1_000_000)) {
            self.pending.removeValue(forKey: link)?.promise.fail(LinkError.timedOut(rank: remote, after: timeout))
        }
        return promise.futureResult
    }

    /// This side ends the link: a close goes out (`flushed` completes when it has), and the link counts as
    /// closed when the peer's close comes back, or a second later.
    func finish(_ link: UInt32, flushed: EventLoopPromise<Void>) {
        guard let context, var end = ends[link], !end.closing else {
            flushed.succeed()
            return
        }
        end.closing = true
        ends[link] = end
        context.write(wrapOutboundOut(.link(frame(link, end, .close))), promise: flushed)
        queueFlush(context)
        context.eventLoop.assumeIsolated().scheduleTask(in: .seconds(1)) {
            self.closeEnd(link)
        }
    }

    /// This side closes the link at once.
    func abort(_ link: UInt32) {
        guard let context, let end = ends[link] else { return }
        if !end.closing { write(frame(link, end, .close), context) }
        closeEnd(link)
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .link(let frame) = unwrapInboundIn(data) else {
            context.close(promise: nil)  // only links travel on a trunk
            return
        }
        let link = frame.link
        switch frame.operation {
        case .data:
            guard let end = ends[link], let message = frame.message else { return }
            if case .ping(let heartbeat) = message {
                write(self.frame(link, end, .data, .pong(heartbeat)), context)
            } else {
                end.input.yield(.agent(.message(message, from: end.remote)))
            }
        case .open:
            guard !dialed else {  // link numbers on a trunk are its dialer's
                write(LinkFrame(link: link, source: frame.destination, destination: frame.source, operation: .refuse), context)
                return
            }
            accept(frame, context)
        case .accept:
            guard let waiting = pending[link], waiting.end.remote == Int(frame.source) else {
                // Accepted after the open timed out here: the peer's end must not stay open on its own.
                write(LinkFrame(link: link, source: frame.destination, destination: frame.source, operation: .close), context)
                return
            }
            pending[link] = nil
            let (end, promise) = waiting
            ends[link] = end
            if case .terminated = end.input.yield(.opened(rank: end.remote, id: end.id, link: writer(link, context))) {
                abort(link)
            }
            promise.succeed()
        case .refuse:
            guard let waiting = pending[link], waiting.end.remote == Int(frame.source) else { return }
            pending[link] = nil
            waiting.promise.fail(LinkError.refused(rank: Int(frame.source)))
        case .close:
            guard let end = ends[link] else { return }
            if !end.closing { write(self.frame(link, end, .close), context) }
            closeEnd(link)
        }
    }

    private func accept(_ open: LinkFrame, _ context: ChannelHandlerContext) {
        let local = Int(open.destination)
        let remote = Int(open.source)
        guard ends[open.link] == nil, let input = hub.input(of: local) else {
            write(LinkFrame(link: open.link, source: open.destination, destination: open.source, operation: .refuse), context)
            return
        }
        let end = End(local: local, remote: remote, id: LinkHub.nextLinkID(), input: input)
        ends[open.link] = end
        // The accept goes out before anything the agent writes on the link (its writes queue behind this read).
        write(frame(open.link, end, .accept), context)
        if case .terminated = input.yield(.opened(rank: remote, id: end.id, link: writer(open.link, context))) {
            abort(open.link)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        hub.trunkClosed(context.channel)
        for (_, waiting) in pending { waiting.promise.fail(LinkError.trunkClosed) }
        pending = [:]
        for link in Array(ends.keys) { closeEnd(link) }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    // MARK: Helpers

    private func closeEnd(_ link: UInt32) {
        guard let end = ends.removeValue(forKey: link) else { return }
        end.input.yield(.closed(rank: end.remote, id: end.id))
    }

    private func frame(_ link: UInt32, _ end: End, _ operation: LinkFrame.Operation, _ message: Message? = nil) -> LinkFrame {
        LinkFrame(link: link, source: UInt32(end.local), destination: UInt32(end.remote), operation: operation, message: message)
    }

    /// Writes a frame; one flush (one system call) follows all the frames written before the event loop
    /// gets back to its queue, however many links and agents wrote them.
    func write(_ frame: LinkFrame, _ context: ChannelHandlerContext) {
        context.write(wrapOutboundOut(.link(frame)), promise: nil)
        queueFlush(context)
    }

    /// Writes an agent's frame (called on the event loop).
    func write(_ frame: LinkFrame) {
        guard let context else { return }
        write(frame, context)
    }

    private func queueFlush(_ context: ChannelHandlerContext) {
        guard !flushQueued else { return }
        flushQueued = true
        context.eventLoop.assumeIsolated().execute {
            self.flushQueued = false
            context.flush()
        }
    }

    private func writer(_ link: UInt32, _ context: ChannelHandlerContext) -> LinkWriter {
        let end = ends[link]!
        return LinkWriter(end: TrunkLinkEnd(
            channel: context.channel, handler: NIOLoopBound(self, eventLoop: context.eventLoop), link: link,
            local: UInt32(end.local), remote: UInt32(end.remote)))
    }
}

/// The writer of a link on a trunk, usable from any thread.
struct TrunkLinkEnd: LinkEnd {
    let channel: any Channel
    let handler: NIOLoopBound<TrunkHandler>
    let link: UInt32
    let local: UInt32
    let remote: UInt32

    func send(_ message: Message) {
        let frame = LinkFrame(link: link, source: local, destination: remote, operation: .data, message: message)
        let handler = self.handler
        // Always queued, as finish and abort are: a link's writes keep their order whatever thread writes.
        channel.eventLoop.execute { handler.value.write(frame) }
    }

    func finish() -> EventLoopFuture<Void>? {
        let flushed = channel.eventLoop.makePromise(of: Void.self)
        let handler = self.handler
        let link = self.link
        channel.eventLoop.execute { handler.value.finish(link, flushed: flushed) }
        return flushed.futureResult
    }

    func abort() {
        let handler = self.handler
        let link = self.link
        channel.eventLoop.execute { handler.value.abort(link) }
    }
}
