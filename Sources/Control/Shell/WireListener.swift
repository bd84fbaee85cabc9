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

    /// Binds `host:port` (0: any free port). `tail` gives each accepted connection's last handler.
    static func bind(
        group: any EventLoopGroup, host: String, port: Int = 0, handshake: Handshake.Configuration,
        report: @escaping @Sendable (any Error) -> Void,
        tail: @escaping @Sendable (any Channel) -> any ChannelHandler
    ) async throws -> WireListener {
        let accepted = AcceptedChannels()
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                accepted.register(channel)
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addWireHandlers(handshake: handshake, reportError: report)
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

    /// Closes every open accepted connection; later ones are still accepted.
    func closeAll() {
        for channel in state.withLockedValue({ Array($0.open.values) }) { channel.close(promise: nil) }
    }

    /// Number of accepted connections still open.
    var openCount: Int { state.withLockedValue { $0.open.count } }
}
