import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Wire

/// An accepted or dialed connection carrying Wire messages, and the handshake's outcome.
///
/// The pipeline ends in an ``AgentLinkHandler``: no task and no async sequence per link. Inbound messages
/// go straight from the event loop to the agent's event stream once ``attach(rank:id:input:)`` is called;
/// outbound messages are written with ``LinkWriter``.
public struct WireLink: Sendable {
    public var channel: any Channel
    let handler: NIOLoopBound<AgentLinkHandler>
    /// Completes with the peer's identity after the authenticated handshake, or fails.
    public var authenticated: EventLoopFuture<PeerIdentity>

    /// Installs the Wire handlers and the link handler on a fresh channel.
    static func make(channel: any Channel, handshake: Handshake.Configuration, report: @escaping @Sendable (any Error) -> Void)
        -> EventLoopFuture<WireLink>
    {
        channel.eventLoop.makeCompletedFuture {
            let promise = channel.eventLoop.makePromise(of: PeerIdentity.self)
            try channel.pipeline.syncOperations.addWireHandlers(
                handshake: handshake, authenticated: promise, reportError: report)
            let handler = AgentLinkHandler()
            try channel.pipeline.syncOperations.addHandler(handler)
            return WireLink(channel: channel, handler: NIOLoopBound(handler, eventLoop: channel.eventLoop),
                            authenticated: promise.futureResult)
        }
    }

    /// From now on every inbound message of this link becomes `.agent(.message(_, from: rank))` on `input`,
    /// preceded by `.opened` and followed, when the connection ends, by `.closed`.
    func attach(rank: Int, id: Int, input: AsyncStream<AgentRuntime.ShellEvent>.Continuation) async throws {
        let handler = self.handler
        let writer = LinkWriter(channel: channel)
        try await channel.eventLoop.submit {
            // An agent that already stopped reading its events will never close this link: close it here.
            if case .terminated = input.yield(.opened(rank: rank, id: id, link: writer)) {
                writer.abort()
                return
            }
            handler.value.attach(
                deliver: { message in input.yield(.agent(.message(message, from: rank))) },
                closed: { input.yield(.closed(rank: rank, id: id)) })
        }.get()
    }
}

/// Sends on one link from any thread; writes keep their order.
struct LinkWriter: Sendable {
    let channel: any Channel

    func send(_ message: Message) {
        channel.writeAndFlush(message, promise: nil)
    }

    /// Ends the link once what was written has gone out (the peer then closes its side, which closes ours);
    /// a peer that never does (hung, stopped, cut off) is closed on a second later. The future completes
    /// when the written data has gone out (or the link is gone).
    @discardableResult
    func finish() -> EventLoopFuture<Void> {
        let flushed = channel.eventLoop.makePromise(of: Void.self)
        channel.close(mode: .output, promise: flushed)
        let channel = self.channel
        channel.eventLoop.scheduleTask(in: .seconds(1)) { channel.close(promise: nil) }
        return flushed.futureResult
    }

    /// Closes at once.
    func abort() {
        channel.close(promise: nil)
    }
}

/// The tail of an agent link's pipeline (event-loop confined): answers liveness pings itself, buffers
/// messages until the link is attached to its agent, then hands them over; reports the connection's end.
final class AgentLinkHandler: ChannelInboundHandler {
    typealias InboundIn = Message
    typealias OutboundOut = Message

    private var deliver: ((Message) -> Void)?
    private var closed: (() -> Void)?
    private var buffered: [Message] = []
    private var isInactive = false

    func attach(deliver: @escaping (Message) -> Void, closed: @escaping () -> Void) {
        self.deliver = deliver
        for message in buffered { deliver(message) }
        buffered = []
        if isInactive { closed() } else { self.closed = closed }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let message = unwrapInboundIn(data)
        // Liveness is answered here, on the event loop, not by the (possibly busy) agent loop.
        if case .ping(let heartbeat) = message {
            context.writeAndFlush(wrapOutboundOut(.pong(heartbeat)), promise: nil)
            return
        }
        if let deliver { deliver(message) } else { buffered.append(message) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        isInactive = true
        closed?()
        closed = nil
        context.fireChannelInactive()
    }
}

/// A bound listener of one logical agent.
public struct WireListener: Sendable {
    /// The server channel yielding accepted links.
    public var server: NIOAsyncChannel<WireLink, Never>
    /// The port it listens on.
    public var port: Int
    /// Every connection it accepted that is still open (see ``AcceptedChannels``).
    let accepted: AcceptedChannels

    /// Binds `host:0` (or a given port) and installs the Wire stack with `handshake` (responder side) on
    /// every accepted connection.
    public static func bind(
        group: any EventLoopGroup, host: String, port: Int = 0, handshake: Handshake.Configuration,
        report: @escaping @Sendable (any Error) -> Void
    ) async throws -> WireListener {
        let accepted = AcceptedChannels()
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .bind(host: host, port: port) { channel in
                accepted.register(channel)
                return WireLink.make(channel: channel, handshake: handshake, report: report)
            }
        return WireListener(server: server, port: server.channel.localAddress?.port ?? 0, accepted: accepted)
    }

    /// Dials `host:port` with `handshake` (initiator side).
    public static func dial(
        group: any EventLoopGroup, host: String, port: Int, handshake: Handshake.Configuration,
        connectTimeout: Duration, report: @escaping @Sendable (any Error) -> Void
    ) async throws -> WireLink {
        let bootstrap = ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.nanoseconds(Int64(connectTimeout.milliseconds) * 1_000_000))
        // Agents advertise IP addresses: connect directly, skipping NIO's resolver and Happy Eyeballs (an
        // eighth of a 1,024-agent bootstrap went there); names still resolve the usual way.
        if let address = try? SocketAddress(ipAddress: host, port: port) {
            return try await bootstrap.connect(to: address) { channel in
                WireLink.make(channel: channel, handshake: handshake, report: report)
            }
        }
        return try await bootstrap.connect(host: host, port: port) { channel in
            WireLink.make(channel: channel, handshake: handshake, report: report)
        }
    }
}

/// The connections a listener accepted and that are still open.
///
/// NIO completes a connection's handshake in its pipeline whether or not anyone still iterates the listener's
/// accepted links: a link accepted while its agent was exiting would stay open, authenticated and answering
/// pings, and keep the peer waiting on an agent that is gone. The agent shuts this set when it exits: every
/// connection in it is closed, and any accepted later is closed at once.
final class AcceptedChannels: Sendable {
    private let state = NIOLockedValueBox(State())

    private struct State {
        var open: [ObjectIdentifier: any Channel] = [:]
        var isShut = false
    }

    func register(_ channel: any Channel) {
        let key = ObjectIdentifier(channel)
        let admitted = state.withLockedValue { state in
            guard !state.isShut else { return false }
            state.open[key] = channel
            return true
        }
        guard admitted else {
            channel.close(promise: nil)
            return
        }
        channel.closeFuture.whenComplete { [state] _ in
            state.withLockedValue { _ = $0.open.removeValue(forKey: key) }
        }
    }

    /// Closes every open accepted connection, and from now on every newly accepted one.
    func shut() {
        let channels = state.withLockedValue { state in
            state.isShut = true
            defer { state.open = [:] }
            return Array(state.open.values)
        }
        for channel in channels { channel.close(promise: nil) }
    }

    /// Number of accepted connections still open.
    var openCount: Int { state.withLockedValue { $0.open.count } }
}
