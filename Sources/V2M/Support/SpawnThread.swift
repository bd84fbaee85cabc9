import Foundation
import Synchronization

/// One thread that lives as long as the process and performs every fork/spawn.
///
/// `PR_SET_PDEATHSIG` fires when the forking *thread* exits; Swift's cooperative pool threads may come and
/// go, so a child spawned from one of them could be killed at a random time.
final class SpawnThread: @unchecked Sendable {
    static let shared = SpawnThread()

    // Guarded by `condition`.
    private let condition = NSCondition()
    private var queue: [@Sendable () -> Void] = []

    private init() {
        let thread = Thread { [self] in self.loop() }
        thread.name = "vhpc-spawn"
        thread.start()
    }

    private func loop() {
        while true {
            condition.lock()
            while queue.isEmpty { condition.wait() }
            let work = queue
            queue.removeAll()
            condition.unlock()
            for item in work { item() }
        }
    }

    /// Runs `body` on the spawn thread and waits for its result (blocking the caller briefly).
    func run<T: Sendable>(_ body: @escaping @Sendable () -> T) -> T {
        let done = DispatchSemaphore(value: 0)
        let result = ResultBox<T>()
        condition.lock()
        queue.append {
            result.value.withLock { $0 = body() }
            done.signal()
        }
        condition.signal()
        condition.unlock()
        done.wait()
        return result.value.withLock { $0! }
    }
}

private final class ResultBox<T: Sendable>: Sendable {
    let value = Mutex<T?>(nil)
}
