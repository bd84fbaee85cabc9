import Foundation
import Synchronization

/// The one thread that forks children whose parent-death signal matters: it lives as long as the process.
///
/// `PR_SET_PDEATHSIG` fires when the forking *thread* exits, not the process; Swift's cooperative pool
/// threads may come and go, so a child forked from one of them could be killed at a random time.
/// ``ProcessSpawner`` forks here whenever a parent-death signal is asked for (agents, tasks, QEMU).
public final class SpawnThread: @unchecked Sendable {
    public static let shared = SpawnThread()

    // Guarded by `condition`.
    private let condition = NSCondition()
    private var queue: [@Sendable () -> Void] = []
    private var batches: [PendingBatch] = []

    /// A ``spawnBatch(_:)`` waiting for the thread: its requests and where its results go.
    private struct PendingBatch {
        var requests: [ProcessSpawner.Request]
        var deliver: @Sendable ([Result<pid_t, SpawnError>]) -> Void
    }

    private init() {
        let thread = Thread { [self] in self.loop() }
        thread.name = "vhpc-spawn"
        thread.start()
    }

    private func loop() {
        while true {
            condition.lock()
            while queue.isEmpty, batches.isEmpty { condition.wait() }
            let work = queue
            let waiting = batches
            queue.removeAll()
            batches.removeAll()
            condition.unlock()
            for item in work { item() }
            // Every batch that arrived meanwhile starts together and is waited for once (the tasks of a process's
            // agents: one wait per agent spread 16 agents' execs over 14-29 ms, 64 agents' over 69-158 ms).
            guard !waiting.isEmpty else { continue }
            let results = ProcessSpawner.spawnBatches(waiting.map(\.requests))
            for (batch, outcome) in zip(waiting, results) { batch.deliver(outcome) }
        }
    }

    private func enqueue(_ item: @escaping @Sendable () -> Void) {
        condition.lock()
        queue.append(item)
        condition.signal()
        condition.unlock()
    }

    /// Runs `body` on the spawn thread and waits for its result (blocking the caller briefly).
    public func run<T: Sendable>(_ body: @escaping @Sendable () -> T) -> T {
        let done = DispatchSemaphore(value: 0)
        let result = ResultBox<T>()
        enqueue {
            result.value.withLock { $0 = body() }
            done.signal()
        }
        done.wait()
        return result.value.withLock { $0! }
    }

    /// ``ProcessSpawner/spawnBatch(_:)`` on the spawn thread, started together with every other batch that is
    /// waiting for the thread by then; the calling task waits without blocking its thread.
    public func spawnBatch(_ requests: [ProcessSpawner.Request]) async -> [Result<pid_t, SpawnError>] {
        await withCheckedContinuation { continuation in
            condition.lock()
            batches.append(PendingBatch(requests: requests) { continuation.resume(returning: $0) })
            condition.signal()
            condition.unlock()
        }
    }

    /// Runs `body` on the spawn thread; the calling task waits without blocking its thread.
    public func perform<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            enqueue { continuation.resume(with: Result { try body() }) }
        }
    }
}

private final class ResultBox<T: Sendable>: Sendable {
    let value = Mutex<T?>(nil)
}
