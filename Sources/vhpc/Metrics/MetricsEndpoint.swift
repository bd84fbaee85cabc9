import Metrics
import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus

/// An opt-in Prometheus endpoint: `GET /metrics` answers the registry's text exposition format; anything
/// else is 404. Read-only, bound to the address asked for (loopback unless the user names another).
final class MetricsEndpoint: Sendable {
    let registry: PrometheusCollectorRegistry
    let port: Int
    private let channel: any Channel

    /// Makes swift-metrics export to a fresh registry and serves it on `host:port` (0 = any free port).
    static func start(host: String, port: Int) async throws -> MetricsEndpoint {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(MetricsHTTPHandler(registry: registry))
                }
            }
            .bind(host: host, port: port).get()
        return MetricsEndpoint(registry: registry, port: channel.localAddress?.port ?? port, channel: channel)
    }

    private init(registry: PrometheusCollectorRegistry, port: Int, channel: any Channel) {
        self.registry = registry
        self.port = port
        self.channel = channel
    }

    func stop() {
        channel.close(promise: nil)
    }
}

/// Answers one HTTP request at a time with the registry's current text.
final class MetricsHTTPHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    let registry: PrometheusCollectorRegistry

    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(let request) = unwrapInboundIn(data) else { return }
        let found = request.method == .GET && (request.uri == "/metrics" || request.uri.hasPrefix("/metrics?"))
        let body = found ? registry.emitToBuffer() : Array("not found\n".utf8)
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: found ? "text/plain; version=0.0.4" : "text/plain")
        headers.add(name: "Content-Length", value: "\(body.count)")
        headers.add(name: "Connection", value: "close")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: found ? .ok : .notFound, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: body)))), promise: nil)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }
}
