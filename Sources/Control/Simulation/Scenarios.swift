import Dispatch
import Foundation
import NIOConcurrencyHelpers

/// Independent scenarios of a scale simulation (each on its own copy of a cluster, sharing nothing) run side
/// by side, one thread per core, so that a host's cores run them at once. Each event's CPU is its own thread's
/// (``SimulatedCluster/threadCPUTime()``), so running them together changes no figure, only the wall time.
public enum Scenarios {
    /// `work` applied to each of `items` on the host's cores; the results in the order of `items`.
    public static func run<Item, Result>(_ items: [Item], _ work: (Item) throws -> Result) throws -> [Result] {
        guard items.count > 1 else { return try items.map(work) }
        let results = Slots<Result>(count: items.count)
        try withoutActuallyEscaping(work) { work in
            // The queue's operations may outlive the drain (OperationQueue lets them go when it pleases): they
            // hold `work` only through this box, which lets it go before `work` must be unescaped again.
            let box = WorkBox(work)
            defer { box.work = nil }
            let queue = Queue()
            for index in items.indices {
                let item = items[index]
                queue.add { _ in
                    guard let work = box.work else { return }
                    results[index] = try work(item)
                }
            }
            try queue.drain()
        }
        return results.values
    }

    /// Holds the scenarios' work while they run.
    private final class WorkBox<Item, Result>: @unchecked Sendable {
        var work: ((Item) throws -> Result)?

        init(_ work: @escaping (Item) throws -> Result) {
            self.work = work
        }
    }

    /// Scenarios waiting for a thread, on Foundation's `OperationQueue` (one operation at a time per core). A
    /// scenario may queue others (``add(first:_:)``: those that go on from the state it reached, at a higher
    /// priority), so that one that needs another's end does not wait for a whole round of them. (Not nested
    /// `concurrentPerform`s: an inner one inside an outer one of as many items as cores runs its items one
    /// after the other.)
    public final class Queue: @unchecked Sendable {
        public typealias Scenario = (Queue) throws -> Void

        private let operations = OperationQueue()
        private let failure = NIOLockedValueBox<(any Error)?>(nil)

        public init() {
            operations.isSuspended = true  // nothing runs before drain(threads:)
        }

        /// Queues `scenario`: last, or (`first`) before every one waiting that was not queued `first` too
        /// (those run in the order they were queued).
        public func add(first: Bool = false, _ scenario: @escaping Scenario) {
            // Each scenario works on its own copy of a cluster; what they share (result slots, this queue) is
            // theirs to guard.
            nonisolated(unsafe) let scenario = scenario
            let operation = BlockOperation { [self] in
                guard failure.withLockedValue({ $0 }) == nil else { return }
                do { try scenario(self) } catch { failure.withLockedValue { $0 = $0 ?? error } }
            }
            operation.queuePriority = first ? .high : .normal
            operations.addOperation(operation)
        }

        /// Runs every scenario queued and every one they queue, `threads` at a time; returns once all have
        /// ended, rethrowing the first error (the scenarios still waiting then do nothing).
        public func drain(threads: Int = ProcessInfo.processInfo.activeProcessorCount) throws {
            operations.maxConcurrentOperationCount = max(1, threads)
            operations.isSuspended = false
            operations.waitUntilAllOperationsAreFinished()
            if let error = failure.withLockedValue({ $0 }) { throw error }
        }
    }

    /// A state several scenarios start from (a wired cluster): each takes its own copy, the last to start the
    /// state itself — which it then changes in place (a copy of a cluster at 100,000 nodes is about a
    /// second of copying and page faults, perf) and frees on its own thread when it is done, rather than the caller after them
    /// all. Whoever made it must hold no other reference to the state.
    public final class SharedStart<Value>: @unchecked Sendable {
        private var value: Value?
        private var users: Int
        private let lock = NIOLock()

        /// `value` for `users` scenarios, each of which calls ``take()`` once.
        public init(_ value: consuming Value, users: Int) {
            self.value = value
            self.users = users
        }

        /// The state: a copy, or the state itself for the last user.
        public func take() -> Value {
            lock.withLock {
                precondition(users > 0, "SharedStart: more takers than users")
                users -= 1
                let taken = value!
                if users == 0 { value = nil }  // the taker's is the only reference left
                return taken
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
