import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Wire

/// A bound listener whose accepted connections get the Wire stack (responder side of the handshake) and then
/// a tail handler of the caller's.
public struct WireListener: Sendable {
    /// The listening channel.
    public var server: any Channel
    /// The port it listens on.
    public var port: Int
    /// Every connection it accepted that is still open (see ``AcceptedChannels``).
    let accepted: AcceptedChannels

    /// Most connections a listener keeps open before they authenticate; more are closed as they come
    /// (a bootstrap opens a few dozen at once per agent; an unauthenticated flood cannot grow it further).
    static let defaultUnauthenticatedLimit = 256

    /// Binds `host:port` (0: any free port). `tail` gives each accepted connection's last handler.
    static func bind(
        group: any EventLoopGroup, host: String, port: Int = 0, handshake: Handshake.Configuration,
        unauthenticatedLimit: Int = defaultUnauthenticatedLimit,
        report: @escaping @Sendable (any Error) -> Void,
        tail: @escaping @Sendable (any Channel) -> any ChannelHandler
    ) async throws -> WireListener {
        let accepted = AcceptedChannels(unauthenticatedLimit: unauthenticatedLimit)
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                guard accepted.register(channel) else {
                    return channel.close()
                }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addWireHandlers(handshake: handshake, reportError: report)
                    try channel.pipeline.syncOperations.addHandler(AdmissionHandler(accepted: accepted))
                    try channel.pipeline.syncOperations.addHandler(tail(channel))
                }
            }
            .bind(host: host, port: port).get()
        return WireListener(server: server, port: server.localAddress?.port ?? 0, accepted: accepted)
    }

    /// Dials `host:port` with `handshake` (initiator side) and `tail` as the last handler; completes when the
    /// handshake has.
    static func dial(
        group: any EventLoopGroup, host: String, port: Int, handshake: Handshake.Configuration,
        connectTimeout: Duration, report: @escaping @Sendable (any Error) -> Void,
        tail: @escaping @Sendable (any Channel) -> any ChannelHandler
    ) -> EventLoopFuture<any Channel> {
        let authenticated = group.next().makePromise(of: PeerIdentity.self)
        let bootstrap = ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.nanoseconds(Int64(connectTimeout.milliseconds) * 1_000_000))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addWireHandlers(
                        handshake: handshake, authenticated: authenticated, reportError: report)
                    try channel.pipeline.syncOperations.addHandler(tail(channel))
                }
            }
        // Agents advertise IP addresses: connect directly, skipping NIO's resolver and Happy Eyeballs; names
        // still resolve the usual way.
        let connected = (try? SocketAddress(ipAddress: host, port: port)).map { bootstrap.connect(to: $0) }
            ?? bootstrap.connect(host: host, port: port)
        return connected.flatMap { channel in
            authenticated.futureResult.map { _ in channel }.flatMapErrorThrowing { error in
                channel.close(promise: nil)
                throw error
            }
        }.flatMapErrorThrowing { error in
            authenticated.fail(error)  // a connect that failed never started the handshake
            throw error
        }
    }
}

/// The connections a listener accepted and that are still open.
///
/// NIO completes a connection's handshake in its pipeline on its own: whoever owns the listener closes
/// what it accepted with ``shut()`` when it is done, and any connection accepted later is closed at once.
/// At most `unauthenticatedLimit` of them may be waiting for their handshake at a time: with the
/// decoder's pre-authentication frame limit (``AuthenticationGate``) that bounds what strangers can make a
/// listener hold.
final class AcceptedChannels: Sendable {
    private let state = NIOLockedValueBox(State())
    let unauthenticatedLimit: Int

    private struct State {
        var open: [ObjectIdentifier: any Channel] = [:]
        var unauthenticated: Set<ObjectIdentifier> = []
        var isShut = false
        var refused = 0
    }

    init(unauthenticatedLimit: Int = WireListener.defaultUnauthenticatedLimit) {
        self.unauthenticatedLimit = unauthenticatedLimit
    }

    /// Admits `channel` (false: the listener is shut or too many connections are still unauthenticated; the
    /// caller closes it).
    @discardableResult
    func register(_ channel: any Channel) -> Bool {
        let key = ObjectIdentifier(channel)
        let admitted = state.withLockedValue { state in
            guard !state.isShut, state.unauthenticated.count < unauthenticatedLimit else {
                state.refused += 1
                return false
            }
            state.open[key] = channel
            state.unauthenticated.insert(key)
            return true
        }
        guard admitted else {
            channel.close(promise: nil)
            return false
        }
        channel.closeFuture.whenComplete { [state] _ in
            state.withLockedValue {
                _ = $0.open.removeValue(forKey: key)
                _ = $0.unauthenticated.remove(key)
            }
        }
        return true
    }

    /// `channel` completed its handshake: it no longer counts against the unauthenticated limit.
    func authenticated(_ channel: any Channel) {
        _ = state.withLockedValue { $0.unauthenticated.remove(ObjectIdentifier(channel)) }
    }

    /// Connections closed at once because the listener was shut or full of unauthenticated ones.
    var refusedCount: Int { state.withLockedValue { $0.refused } }

    /// Accepted connections still waiting for their handshake.
    var unauthenticatedCount: Int { state.withLockedValue { $0.unauthenticated.count } }

    /// Closes every open accepted connection, and from now on every newly accepted one.
    func shut() {
        let channels = state.withLockedValue { state in
            state.isShut = true
            defer { state.open = [:] }
            return Array(state.open.values)
        }
        for channel in channels { channel.close(promise: nil) }
    }

    /// Closes every open accepted connection; later ones are still accepted.
    func closeAll() {
        for channel in state.withLockedValue({ Array($0.open.values) }) { channel.close(promise: nil) }
    }

    /// Number of accepted connections still open.
    var openCount: Int { state.withLockedValue { $0.open.count } }
}

/// Tells ``AcceptedChannels`` when a connection has authenticated; passes everything on.
final class AdmissionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = Message

    private let accepted: AcceptedChannels

    init(accepted: AcceptedChannels) {
        self.accepted = accepted
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .authenticated = event as? WireEvent { accepted.authenticated(context.channel) }
        context.fireUserInboundEventTriggered(event)
    }
}
