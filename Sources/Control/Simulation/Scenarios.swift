import Dispatch
import Foundation

/// Independent scenarios of a scale simulation (each on its own copy of a cluster, sharing nothing) run side
/// by side, one thread per core, so that a host's cores run them at once. Each event's CPU is its own thread's
/// (``SimulatedCluster/threadCPUTime()``), so running them together changes no figure, only the wall time.
public enum Scenarios {
    /// `work` applied to each of `items` on the host's cores; the results in the order of `items`.
    public static func run<Item, Result>(_ items: [Item], _ work: (Item) throws -> Result) throws -> [Result] {
        guard items.count > 1 else { return try items.map(work) }
        let results = Slots<Result>(count: items.count)
        try withoutActuallyEscaping(work) { work in
            let queue = Queue()
            for index in items.indices {
                let item = items[index]
                queue.add { _ in results[index] = try work(item) }
            }
            try queue.drain()
        }
        return results.values
    }

    /// Scenarios waiting for a thread. A scenario may queue others (``add(first:_:)``: those that go on from the
    /// state it reached), so that one that needs another's end does not wait for a whole round of them: one
    /// thread per core takes the next one queued as soon as it is free. (Not nested `concurrentPerform`s: an
    /// inner one inside an outer one of as many items as cores runs its items one after the other.)
    public final class Queue: @unchecked Sendable {
        public typealias Scenario = (Queue) throws -> Void

        /// Guards everything below; `ready` counts the scenarios queued (and, at the end, wakes every thread).
        private let lock = DispatchSemaphore(value: 1)
        private let ready = DispatchSemaphore(value: 0)
        private var waiting: [Scenario] = []
        private var running = 0
        private var failure: (any Error)?
        private var threads = 0

        public init() {}

        /// Queues `scenario`: last, or (`first`) before every one waiting.
        public func add(first: Bool = false, _ scenario: @escaping Scenario) {
            lock.wait()
            if first { waiting.insert(scenario, at: 0) } else { waiting.append(scenario) }
            lock.signal()
            ready.signal()
        }

        /// Runs every scenario queued and every one they queue, on one thread per core (at most one per
        /// scenario queued at the start); returns once all have ended, rethrowing the first error (the
        /// scenarios still waiting then are dropped).
        public func drain(threads: Int = ProcessInfo.processInfo.activeProcessorCount) throws {
            lock.wait()
            self.threads = max(1, min(threads, waiting.count))
            let count = self.threads
            lock.signal()
            DispatchQueue.concurrentPerform(iterations: count) { _ in work() }
            if let failure { throw failure }
        }

        private func work() {
            while true {
                ready.wait()
                lock.wait()
                guard !waiting.isEmpty else {
                    lock.signal()
                    return  // everything has ended
                }
                let scenario = waiting.removeFirst()
                running += 1
                let failed = failure != nil
                lock.signal()
                do {
                    if !failed { try scenario(self) }
                } catch {
                    lock.wait()
                    if failure == nil { failure = error }
                    lock.signal()
                }
                lock.wait()
                running -= 1
                let ended = waiting.isEmpty && running == 0
                let threads = self.threads
                lock.signal()
                if ended { for _ in 0..<threads { ready.signal() } }
            }
        }
    }

    /// One result slot per scenario, each written by its own thread.
    final class Slots<Value>: @unchecked Sendable {
        private let storage: UnsafeMutableBufferPointer<Value?>

        init(count: Int) {
            storage = .allocate(capacity: count)
            storage.initialize(repeating: nil)
        }

        deinit {
            storage.deinitialize()
            storage.deallocate()
        }

        subscript(index: Int) -> Value? {
            get { storage[index] }
            set { storage[index] = newValue }
        }

        /// Every slot's value (each written by now).
        var values: [Value] { storage.map { $0! } }
    }
}
