import Control
import Logging
import NIOCore
import NIOPosix
import Synchronization
import V2M

/// The host end of one VM task's PMIx connections: what the guest agent accepted on the guest's loopback
/// arrives as `pmix` messages over the guest link; each connection's first message must pass a
/// ``PMIxConnectGuard`` (the task's own namespace and rank, as a client), then this agent connects to the
/// PMIx server in its own process (its loopback TCP port) and relays both ways. Nothing new listens on the host.
final class PMIxGuestRelay: Sendable {
    private struct Connection {
        var guardian: PMIxConnectGuard
        var channel: EventLoopFuture<any Channel>?
        var refused = false
    }

    private let server: (host: String, port: Int)
    private let namespace: String
    private let rank: Int
    private let group: any EventLoopGroup
    private let logger: Logger
    private let connections = Mutex<[UInt32: Connection]>([:])

    /// A relay for task `rank` whose PMIx environment (the host's, from `PMIx_server_setup_fork`) is
    /// `environment`; nil when it names no server.
    init?(rank: Int, environment: [String: String], group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger) {
        guard let server = PMIxGuest.serverAddress(environment), let namespace = environment["PMIX_NAMESPACE"] else { return nil }
        self.server = server
        self.namespace = namespace
        self.rank = rank
        self.group = group
        self.logger = logger
    }

    /// Bytes of guest connection `number` (empty: the guest closed it); `reply` sends bytes back to it
    /// (empty: closes it in the guest).
    func received(_ number: UInt32, _ bytes: [UInt8], reply: @escaping GuestCommand.PMIxReply) {
        if bytes.isEmpty {
            connections.withLock { $0.removeValue(forKey: number) }?.channel?.whenSuccess { $0.close(promise: nil) }
            return
        }
        let action = connections.withLock { table -> (PMIxConnectGuard.Outcome, EventLoopFuture<any Channel>?) in
            var connection = table[number] ?? Connection(guardian: PMIxConnectGuard(namespace: namespace, rank: UInt32(rank)))
            let refusedBefore = connection.refused
            let outcome = connection.guardian.add(bytes)
            switch outcome {
            case .wait:
                table[number] = connection
            case .refuse:
                // Kept until the guest closes it: bytes already on their way are dropped, not parsed afresh.
                connection.refused = true
                table[number] = connection
                if refusedBefore { return (.wait, nil) }
            case .forward:
                if connection.channel == nil { connection.channel = connect(number, reply: reply) }
                table[number] = connection
            }
            return (outcome, connection.channel)
        }
        switch action {
        case (.forward(let data), let channel?):
            guard !data.isEmpty else { return }
            channel.whenSuccess { $0.writeAndFlush(ByteBuffer(bytes: data), promise: nil) }
        case (.refuse(let reason), _):
            logger.warning("rank \(rank): PMIx connection from its VM refused: \(reason)")
            reply(number, [])
        default:
            break
        }
    }

    /// The task ended: closes every connection to the server.
    func closeAll() {
        for connection in connections.withLock({ table in defer { table.removeAll() }; return Array(table.values) }) {
            connection.channel?.whenSuccess { $0.close(promise: nil) }
        }
    }

    private func connect(_ number: UInt32, reply: @escaping GuestCommand.PMIxReply) -> EventLoopFuture<any Channel> {
        let future = ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Upstream(number: number, reply: reply))
                }
            }
            .connect(host: server.host, port: server.port)
        future.whenFailure { [logger, rank] error in
            logger.error("rank \(rank): cannot reach the node's PMIx server for its VM: \(error)")
            reply(number, [])
        }
        return future
    }

    /// The server's side of one relayed connection: what it sends goes to the guest; its end closes the
    /// guest's connection.
    private final class Upstream: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let number: UInt32
        let reply: GuestCommand.PMIxReply

        init(number: UInt32, reply: @escaping GuestCommand.PMIxReply) {
            self.number = number
            self.reply = reply
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            reply(number, Array(buffer.readableBytesView))
        }

        func channelInactive(context: ChannelHandlerContext) {
            reply(number, [])
            context.fireChannelInactive()
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }
    }
}
