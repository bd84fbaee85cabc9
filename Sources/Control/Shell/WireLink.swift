import NIOCore
import NIOPosix
import Wire

/// An accepted or dialed connection carrying Wire messages, and the handshake's outcome.
public struct WireLink: Sendable {
    /// The message channel (usable once `authenticated` succeeds).
    public var channel: NIOAsyncChannel<Message, Message>
    /// Completes with the peer's identity after the authenticated handshake, or fails.
    public var authenticated: EventLoopFuture<PeerIdentity>

    /// Installs the Wire handlers on a fresh channel and wraps it.
    static func make(channel: any Channel, handshake: Handshake.Configuration, report: @escaping @Sendable (any Error) -> Void)
        -> EventLoopFuture<WireLink>
    {
        channel.eventLoop.makeCompletedFuture {
            let promise = channel.eventLoop.makePromise(of: PeerIdentity.self)
            try channel.pipeline.syncOperations.addWireHandlers(
                handshake: handshake, authenticated: promise, reportError: report)
            let wrapped = try NIOAsyncChannel<Message, Message>(wrappingChannelSynchronously: channel)
            return WireLink(channel: wrapped, authenticated: promise.futureResult)
        }
    }
}

/// A bound listener of one logical agent.
public struct WireListener: Sendable {
    /// The server channel yielding accepted links.
    public var server: NIOAsyncChannel<WireLink, Never>
    /// The port it listens on.
    public var port: Int

    /// Binds `host:0` (or a given port) and installs the Wire stack with `handshake` (responder side) on
    /// every accepted connection.
    public static func bind(
        group: any EventLoopGroup, host: String, port: Int = 0, handshake: Handshake.Configuration,
        report: @escaping @Sendable (any Error) -> Void
    ) async throws -> WireListener {
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .bind(host: host, port: port) { channel in
                WireLink.make(channel: channel, handshake: handshake, report: report)
            }
        return WireListener(server: server, port: server.channel.localAddress?.port ?? 0)
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
