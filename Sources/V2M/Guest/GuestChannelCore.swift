import GuestProtocol
import Logging
import NIOCore
import Synchronization

/// The guest channel's dispatcher: matches inbound messages to waiting operations. Owned by one
/// `GuestChannel`; fed by `GuestChannelHandler` on the event loop.
final class GuestChannelCore: Sendable {
    typealias OutputSink = @Sendable (GuestMessage.OutputStream, [UInt8]) -> Void

    private struct Exec {
        var onOutput: OutputSink
        var onPMI: (@Sendable ([UInt8]) -> Void)?
        var onPMIx: (@Sendable (UInt32, [UInt8]) -> Void)?
        var continuation: CheckedContinuation<Int32, any Error>
    }

    private struct State {
        var lastReady: GuestInfo?
        var readyWaiters: [Int: CheckedContinuation<GuestInfo, any Error>] = [:]
        var statusWaiters: [(Int, CheckedContinuation<GuestStatus, any Error>)] = []
        var closeWaiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var execs: [UInt32: Exec] = [:]
        var nextWaiter = 0
        var nextExecID: UInt32 = 1
        var closedReason: String?
        var refused = false
    }

    let vmName: String
    let logger: Logger
    private let state = Mutex(State())

    init(vmName: String, logger: Logger) {
        self.vmName = vmName
        self.logger = logger
    }

    var lastReady: GuestInfo? { state.withLock { $0.lastReady } }
    var closedReason: String? { state.withLock { $0.closedReason } }

    func allocateExecID() -> UInt32 {
        state.withLock { s in
            defer { s.nextExecID &+= 1 }
            return s.nextExecID
        }
    }

    // MARK: inbound (event loop)

    func receive(_ message: GuestMessage) {
        switch message {
        case .ready(let info):
            let waiters = state.withLock { s in
                s.lastReady = info
                defer { s.readyWaiters.removeAll() }
                return Array(s.readyWaiters.values)
            }
            logger.debug("guest ready", metadata: ["vm": "\(vmName)", "kernel": "\(info.kernelRelease)"])
            for waiter in waiters { waiter.resume(returning: info) }
        case .status(let counter, let uptime):
            let waiter = state.withLock { s in s.statusWaiters.isEmpty ? nil : s.statusWaiters.removeFirst().1 }
            waiter?.resume(returning: GuestStatus(counter: counter, uptimeMilliseconds: uptime))
        case .output(let id, let stream, let bytes):
            let sink = state.withLock { $0.execs[id]?.onOutput }
            sink?(stream, bytes)
        case .pmi(let id, let bytes):
            let sink = state.withLock { $0.execs[id]?.onPMI }
            sink?(bytes)
        case .pmix(let id, let connection, let bytes):
            let sink = state.withLock { $0.execs[id]?.onPMIx }
            sink?(connection, bytes)
        case .exited(let id, let status):
            state.withLock { $0.execs.removeValue(forKey: id) }?.continuation.resume(returning: status)
        case .execFailed(let id, let reason):
            state.withLock { $0.execs.removeValue(forKey: id) }?.continuation
                .resume(throwing: V2MError.guestExecFailed(vm: vmName, reason: reason))
        case .exec, .stdin, .signal, .statusRequest, .shutdown:
            logger.debug("ignoring host-bound message from guest", metadata: ["vm": "\(vmName)"])
        }
    }

    /// `refused`: the handshake failed on credentials; waiters get `guestRefused`, not `guestChannel`.
    private func closedError(_ s: State) -> V2MError {
        let reason = s.closedReason ?? "closed"
        return s.refused ? .guestRefused(vm: vmName, reason: reason) : .guestChannel(vm: vmName, reason: reason)
    }

    func closed(reason: String, refused: Bool = false) {
        let (ready, status, execs, closers, error) = state.withLock { s in
            if s.closedReason == nil {
                s.closedReason = reason
                s.refused = refused
            }
            defer {
                s.readyWaiters.removeAll()
                s.statusWaiters.removeAll()
                s.execs.removeAll()
                s.closeWaiters.removeAll()
            }
            return (Array(s.readyWaiters.values), s.statusWaiters.map(\.1), Array(s.execs.values), Array(s.closeWaiters.values),
                    closedError(s))
        }
        for w in ready { w.resume(throwing: error) }
        for w in status { w.resume(throwing: error) }
        for e in execs { e.continuation.resume(throwing: error) }
        for c in closers { c.resume() }
    }

    // MARK: waiting

    func nextReady() async throws -> GuestInfo {
        let id = state.withLock { s in
            defer { s.nextWaiter += 1 }
            return s.nextWaiter
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<GuestInfo, any Error>) in
                let immediate: Result<GuestInfo, any Error>? = state.withLock { s in
                    if let ready = s.lastReady { return .success(ready) }
                    if s.closedReason != nil { return .failure(closedError(s)) }
                    if Task.isCancelled { return .failure(CancellationError()) }
                    s.readyWaiters[id] = c
                    return nil
                }
                if let immediate { c.resume(with: immediate) }
            }
        } onCancel: {
            state.withLock { $0.readyWaiters.removeValue(forKey: id) }?.resume(throwing: CancellationError())
        }
    }

    func awaitStatus(send: @escaping @Sendable () async throws -> Void) async throws -> GuestStatus {
        let id = state.withLock { s in
            defer { s.nextWaiter += 1 }
            return s.nextWaiter
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<GuestStatus, any Error>) in
                // A closed channel is checked under the same lock that registers the waiter, so a close
                // cannot strand it.
                let closed = state.withLock { s -> V2MError? in
                    if s.closedReason != nil { return closedError(s) }
                    s.statusWaiters.append((id, c))
                    return nil
                }
                if let closed {
                    c.resume(throwing: closed)
                    return
                }
                Task { [self] in
                    do { try await send() } catch {
                        self.failStatus(id: id, error: error)
                    }
                }
            }
        } onCancel: {
            failStatus(id: id, error: CancellationError())
        }
    }

    private func failStatus(id: Int, error: any Error) {
        let waiter = state.withLock { s -> CheckedContinuation<GuestStatus, any Error>? in
            guard let index = s.statusWaiters.firstIndex(where: { $0.0 == id }) else { return nil }
            return s.statusWaiters.remove(at: index).1
        }
        waiter?.resume(throwing: error)
    }

    func awaitExit(id: UInt32, onOutput: @escaping OutputSink, onPMI: (@Sendable ([UInt8]) -> Void)? = nil,
                   onPMIx: (@Sendable (UInt32, [UInt8]) -> Void)? = nil,
                   send: @escaping @Sendable () async throws -> Void) async throws -> Int32 {
        return try await withCheckedThrowingContinuation { (c: CheckedContinuation<Int32, any Error>) in
            let closed = state.withLock { s -> V2MError? in
                if s.closedReason != nil { return closedError(s) }
                s.execs[id] = Exec(onOutput: onOutput, onPMI: onPMI, onPMIx: onPMIx, continuation: c)
                return nil
            }
            if let closed {
                c.resume(throwing: closed)
                return
            }
            Task { [self] in
                do { try await send() } catch {
                    self.state.withLock { $0.execs.removeValue(forKey: id) }?.continuation.resume(throwing: error)
                }
            }
        }
    }

    func waitClosed() async {
        let id = state.withLock { s in
            defer { s.nextWaiter += 1 }
            return s.nextWaiter
        }
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let alreadyClosed = state.withLock { s in
                if s.closedReason != nil { return true }
                s.closeWaiters[id] = c
                return false
            }
            if alreadyClosed { c.resume() }
        }
    }
}

/// Pipeline tail that hands decoded messages and connection close to a `GuestChannelCore`.
final class GuestChannelHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = GuestMessage
    let core: GuestChannelCore

    init(core: GuestChannelCore) { self.core = core }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        core.receive(unwrapInboundIn(data))
    }

    func channelInactive(context: ChannelHandlerContext) {
        core.closed(reason: "connection closed")
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        core.closed(reason: "\(error)")
        context.close(promise: nil)
    }
}
