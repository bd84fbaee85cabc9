import NIOCore
import NIOEmbedded
import Synchronization
@testable import WireCore
import Wire

/// Collects what ``WireErrorHandler`` reports.
final class ErrorLog: Sendable {
    private let storage = Mutex<[any Error]>([])

    var errors: [WireError] { storage.withLock { $0.compactMap { $0 as? WireError } } }
    var count: Int { storage.withLock { $0.count } }

    func record(_ error: any Error) {
        storage.withLock { $0.append(error) }
    }
}

/// Records user events that reach the end of the pipeline.
final class EventRecorder: ChannelInboundHandler {
    typealias InboundIn = Message
    var events: [WireEvent] = []

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? WireEvent { events.append(event) }
        context.fireUserInboundEventTriggered(event)
    }
}

/// One side of a connection: an EmbeddedChannel with the full wire stack.
struct WireEndpoint {
    let channel: EmbeddedChannel
    let log = ErrorLog()
    let recorder = EventRecorder()
    let authenticated: EventLoopPromise<PeerIdentity>

    init(_ configuration: Handshake.Configuration, limits: FrameLimits = FrameLimits()) throws {
        channel = EmbeddedChannel()
        authenticated = channel.eventLoop.makePromise()
        let log = self.log
        try channel.pipeline.syncOperations.addWireHandlers(
            handshake: configuration, limits: limits, authenticated: authenticated, reportError: { log.record($0) })
        try channel.pipeline.syncOperations.addHandler(recorder)
    }

    func connect() throws {
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 7000)).wait()
    }

    /// Every byte written so far.
    func drainOutbound() throws -> ByteBuffer {
        var all = ByteBuffer()
        while var bytes = try channel.readOutbound(as: ByteBuffer.self) { all.writeBuffer(&bytes) }
        return all
    }

    /// Application messages received so far.
    func drainInbound() throws -> [Message] {
        var messages: [Message] = []
        while let message = try channel.readInbound(as: Message.self) { messages.append(message) }
        return messages
    }

    /// Feeds raw bytes in; errors caught by the pipeline are reported to `log`, not thrown.
    func receive(_ bytes: ByteBuffer) {
        guard channel.isActive else { return }
        _ = try? channel.writeInbound(bytes)
    }
}

/// Moves bytes between two endpoints until both are quiet; returns everything each side sent.
@discardableResult
func shuttle(_ a: WireEndpoint, _ b: WireEndpoint) throws -> (fromA: [ByteBuffer], fromB: [ByteBuffer]) {
    var fromA: [ByteBuffer] = []
    var fromB: [ByteBuffer] = []
    while true {
        let aBytes = try a.drainOutbound()
        let bBytes = try b.drainOutbound()
        if aBytes.readableBytes == 0 && bBytes.readableBytes == 0 { return (fromA, fromB) }
        if aBytes.readableBytes > 0 {
            fromA.append(aBytes)
            b.receive(aBytes)
        }
        if bBytes.readableBytes > 0 {
            fromB.append(bBytes)
            a.receive(bBytes)
        }
    }
}

/// Splits bytes into frames.
func frames(in bytes: ByteBuffer) throws -> [Frame] {
    var bytes = bytes
    var frames: [Frame] = []
    while let frame = try FrameParser().parse(&bytes) { frames.append(frame) }
    return frames
}
