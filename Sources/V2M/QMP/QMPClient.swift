import Foundation
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// The socket shell around `QMPSession`: connects to QEMU's QMP unix socket, negotiates capabilities,
/// runs commands one reply at a time and forwards events.
public final class QMPClient: Sendable {
    public let vmName: String
    private let channel: any Channel
    private let core: QMPCore

    private init(vmName: String, channel: any Channel, core: QMPCore) {
        self.vmName = vmName
        self.channel = channel
        self.core = core
    }

    /// Connects (retrying until `timeout`) and completes the capabilities handshake.
    public static func connect(socketPath: String, vmName: String, timeout: Duration = .seconds(10),
                               onEvent: @escaping @Sendable (String, JSONValue?) -> Void = { _, _ in }) async throws -> QMPClient {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        var lastError: any Error = V2MError.qmp(vm: vmName, command: "connect", reason: "socket \(socketPath) never appeared")
        while clock.now < deadline {
            try Task.checkCancellation()
            if FileManager.default.fileExists(atPath: socketPath) {
                let core = QMPCore(vmName: vmName, onEvent: onEvent)
                do {
                    let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                        .channelInitializer { channel in
                            channel.eventLoop.makeCompletedFuture {
                                try channel.pipeline.syncOperations.addHandlers([
                                    ByteToMessageHandler(LineDecoder()),
                                    QMPHandler(core: core),
                                ])
                            }
                        }
                        .connect(unixDomainSocketPath: socketPath).get()
                    let client = QMPClient(vmName: vmName, channel: channel, core: core)
                    try await withDeadline(max(deadline - clock.now, .seconds(1)), onTimeout: {
                        .qmp(vm: vmName, command: "qmp_capabilities", reason: "no greeting")
                    }) { try await core.waitNegotiated() }
                    return client
                } catch {
                    lastError = error
                }
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        if let v2m = lastError as? V2MError { throw v2m }
        throw V2MError.qmp(vm: vmName, command: "connect", reason: "\(lastError)")
    }

    /// Runs one command and returns its `return` value.
    @discardableResult
    public func execute(_ name: String, arguments: [String: JSONValue]? = nil,
                        timeout: Duration = .seconds(30)) async throws -> JSONValue {
        let vm = vmName
        do {
            return try await withDeadline(timeout, onTimeout: { .qmp(vm: vm, command: name, reason: "no reply in time") }) {
                try await self.core.execute(name, arguments: arguments, channel: self.channel)
            }
        } catch let error as QMPError {
            throw V2MError.qmp(vm: vmName, command: name, reason: "\(error.errorClass): \(error.description)")
        }
    }

    /// `query-status`'s `status` ("running", "paused", "postmigrate", …).
    public func status() async throws -> String {
        try await execute("query-status")["status"]?.stringValue ?? "unknown"
    }

    public var isClosed: Bool { core.isClosed }

    /// Waits until the monitor connection closes (QEMU exited).
    public func waitClosed() async { await core.waitClosed() }

    public func close() async { try? await channel.close() }
}

/// Splits a byte stream into lines (without the newline).
struct LineDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let index = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
            if buffer.readableBytes > 16 << 20 { throw QMPError(errorClass: "ProtocolError", description: "line too long") }
            return .needMoreData
        }
        let length = index - buffer.readerIndex
        let line = buffer.readSlice(length: length)!
        buffer.moveReaderIndex(forwardBy: 1)
        context.fireChannelRead(wrapInboundOut(line))
        return .continue
    }
}

/// State shared by the QMP handler (event loop) and callers.
final class QMPCore: Sendable {
    private struct State {
        var session = QMPSession()
        var negotiated = false
        var negotiationWaiters: [CheckedContinuation<Void, any Error>] = []
        var pending: [Int: CheckedContinuation<JSONValue, any Error>] = [:]
        var closeWaiters: [CheckedContinuation<Void, Never>] = []
        var closed: String?
    }

    let vmName: String
    let onEvent: @Sendable (String, JSONValue?) -> Void
    private let state = Mutex(State())

    init(vmName: String, onEvent: @escaping @Sendable (String, JSONValue?) -> Void) {
        self.vmName = vmName
        self.onEvent = onEvent
    }

    var isClosed: Bool { state.withLock { $0.closed != nil } }

    func receive(line: ByteBuffer, channel: any Channel) {
        let bytes = Array(line.readableBytesView)
        let output: Result<QMPSession.Output?, QMPError> = state.withLock { s in
            do throws(QMPError) { return .success(try s.session.receive(line: bytes)) } catch { return .failure(error) }
        }
        switch output {
        case .failure(let error):
            fail(reason: "\(error)")
            channel.close(promise: nil)
        case .success(nil):
            break
        case .success(.greeting(_, let send)):
            var buffer = channel.allocator.buffer(capacity: send.count)
            buffer.writeBytes(send)
            channel.writeAndFlush(buffer, promise: nil)
        case .success(.negotiated):
            let waiters = state.withLock { s in
                s.negotiated = true
                defer { s.negotiationWaiters.removeAll() }
                return s.negotiationWaiters
            }
            for w in waiters { w.resume() }
        case .success(.response(let id, let result)):
            state.withLock { $0.pending.removeValue(forKey: id) }?.resume(with: result.mapError { $0 as any Error })
        case .success(.event(let name, let data)):
            onEvent(name, data)
        }
    }

    func fail(reason: String) {
        let (negotiation, pending, closers) = state.withLock { s in
            if s.closed == nil { s.closed = reason }
            defer {
                s.negotiationWaiters.removeAll()
                s.pending.removeAll()
                s.closeWaiters.removeAll()
            }
            return (s.negotiationWaiters, Array(s.pending.values), s.closeWaiters)
        }
        let error = V2MError.qmp(vm: vmName, command: "monitor", reason: reason)
        for w in negotiation { w.resume(throwing: error) }
        for p in pending { p.resume(throwing: error) }
        for c in closers { c.resume() }
    }

    func waitNegotiated() async throws {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
            let immediate: Result<Void, any Error>? = state.withLock { s in
                if s.negotiated { return .success(()) }
                if let reason = s.closed { return .failure(V2MError.qmp(vm: vmName, command: "qmp_capabilities", reason: reason)) }
                s.negotiationWaiters.append(c)
                return nil
            }
            if let immediate { c.resume(with: immediate) }
        }
    }

    func execute(_ name: String, arguments: [String: JSONValue]?, channel: any Channel) async throws -> JSONValue {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<JSONValue, any Error>) in
            let bytes: [UInt8]? = state.withLock { s in
                if s.closed != nil { return nil }
                let (id, bytes) = s.session.command(name, arguments: arguments)
                s.pending[id] = c
                return bytes
            }
            guard let bytes else {
                c.resume(throwing: V2MError.qmp(vm: vmName, command: name, reason: "monitor closed"))
                return
            }
            var buffer = channel.allocator.buffer(capacity: bytes.count)
            buffer.writeBytes(bytes)
            channel.writeAndFlush(buffer, promise: nil)
        }
    }

    func waitClosed() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let done = state.withLock { s in
                if s.closed != nil { return true }
                s.closeWaiters.append(c)
                return false
            }
            if done { c.resume() }
        }
    }
}

/// Pipeline tail feeding lines to `QMPCore`.
final class QMPHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    let core: QMPCore

    init(core: QMPCore) { self.core = core }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        core.receive(line: unwrapInboundIn(data), channel: context.channel)
    }

    func channelInactive(context: ChannelHandlerContext) {
        core.fail(reason: "monitor connection closed")
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        core.fail(reason: "\(error)")
        context.close(promise: nil)
    }
}
