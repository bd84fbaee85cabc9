import Control
import Logging
import NIOCore
import Synchronization

/// Runs one node's ``PMINodeServer`` for its tasks' PMI connections, whatever carries their bytes (a
/// socketpair for processes, the guest channel for VMs): frames lines per task, sends the replies, turns
/// fences into ``AgentEvent/pmiFence(epoch:entries:)`` for the agent.
public final class PMINodeShell: Sendable {
    private struct State {
        var server: PMINodeServer
        var framers: [Int: LineFramer] = [:]
        var spoken: Set<Int> = []
        /// Tasks failed for breaking the protocol: their session is over too.
        var failed: Set<Int> = []
        /// The node's log said that the job's barriers can never complete.
        var lossTold = false
    }

    private let state: Mutex<State>
    private let start = ContinuousClock.now
    private let lenient: Bool
    private let send: @Sendable (_ rank: Int, _ bytes: [UInt8]) -> Void
    private let disconnect: @Sendable (_ rank: Int) -> Void
    private let report: @Sendable (AgentEvent) -> Void
    private let logger: Logger

    /// - Parameters:
    ///   - send: writes bytes to task `rank`'s PMI connection.
    ///   - disconnect: ends task `rank`'s PMI connection (it broke the protocol).
    ///   - report: the agent's event sink (fences go up the tree through it).
    public init(configuration: PMINodeServer.Configuration, logger: Logger,
                send: @escaping @Sendable (_ rank: Int, _ bytes: [UInt8]) -> Void,
                disconnect: @escaping @Sendable (_ rank: Int) -> Void = { _ in },
                report: @escaping @Sendable (AgentEvent) -> Void) {
        state = Mutex(State(server: PMINodeServer(configuration: configuration)))
        lenient = configuration.lenientAfter != nil
        self.send = send
        self.disconnect = disconnect
        self.report = report
        self.logger = logger
    }

    /// Bytes from task `rank`'s connection (any cut: lines are reassembled here).
    public func received(_ bytes: ByteBuffer, from rank: Int) {
        let outputs = state.withLock { state -> [PMINodeServer.Output] in
            if bytes.readableBytes > 0 { state.spoken.insert(rank) }
            var framer = state.framers[rank] ?? LineFramer(maximumLineLength: 64 * 1024)
            let lines = framer.append(bytes)
            state.framers[rank] = framer
            guard let lines else { return [] }
            let now = ContinuousClock.now - start
            return String(buffer: lines).split(separator: "\n").flatMap { line in
                state.server.receive(String(line), from: rank, now: now)
            }
        }
        perform(outputs)
    }

    /// Whether task `rank` sent anything (a PMI-1 client talked to the server).
    public func hasSpoken(_ rank: Int) -> Bool {
        state.withLock { $0.spoken.contains(rank) }
    }

    /// Whether task `rank` ended its PMI-1 session (`cmd=finalize`, `cmd=abort`, or failed for a bad request).
    public func hasFinalized(_ rank: Int) -> Bool {
        state.withLock { $0.server.hasEnded(rank) || $0.failed.contains(rank) }
    }

    /// Every node is in fence `epoch` (from ``TaskControl/pmiRelease(epoch:entries:)``).
    public func release(epoch: Int, entries: [PMIEntry]) {
        perform(state.withLock { $0.server.release(epoch: epoch, entries: entries) })
    }

    /// A local task left without ending its session: tell the job its fences can never complete
    /// (``PMIFenceLoss``).
    public func lose(_ lost: PMIFenceLoss) {
        perform(state.withLock { $0.server.lose(lost) })
    }

    /// Drives the lenient barrier timer (``PMINodeServer/Configuration/lenientAfter``) until cancelled;
    /// returns at once when there is none.
    public func runTimer() async {
        guard lenient else { return }
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(250))
            let now = ContinuousClock.now - start
            let outputs = state.withLock { $0.server.tick(now: now) }
            if !outputs.isEmpty { logger.debug("PMI barrier fenced early: a task is late and nobody put anything") }
            perform(outputs)
        }
    }

    private func perform(_ outputs: [PMINodeServer.Output]) {
        for output in outputs {
            switch output {
            case .reply(let rank, let line):
                send(rank, Array(line.utf8))
            case .fence(let epoch, let entries):
                report(.pmiFence(epoch: epoch, entries: entries))
            case .disconnect(let rank):
                let (reason, first) = state.withLock { state in
                    defer { state.lossTold = true }
                    return (state.server.loss?.reason ?? "", !state.lossTold)
                }
                if first { logger.warning("PMI barriers of this job can never complete (\(reason)): the connections of the ranks waiting in one are closed") }
                disconnect(rank)
            case .fail(let rank, let message):
                logger.warning("\(message)")
                state.withLock { _ = $0.failed.insert(rank) }
                report(.taskExited(task: rank, status: 1, message: message))
                disconnect(rank)
            case .abort(let rank, let code, let message):
                // The client waits for the job to end: report the task ended with a reason, which the
                // front-end treats as a failure (under --on-failure abort it ends the job).
                let detail = message.isEmpty ? "" : ": \(message)"
                report(.taskExited(task: rank, status: code, message: "rank \(rank) called MPI_Abort (exit code \(code))\(detail)"))
            }
        }
    }
}
