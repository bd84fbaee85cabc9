import Dispatch

/// Independent scenarios of a scale simulation (each on its own copy of a cluster, sharing nothing) run side
/// by side, one thread each, so that a host's cores run them at once. Each event's CPU is its own thread's
/// (``SimulatedCluster/threadCPUTime()``), so running them together changes no figure, only the wall time.
public enum Scenarios {
    /// `work` applied to each of `items` on threads of its own; the results in the order of `items`.
    public static func run<Item, Result>(_ items: [Item], _ work: (Item) throws -> Result) throws -> [Result] {
        guard items.count > 1 else { return try items.map(work) }
        var results: [Swift.Result<Result, any Error>?] = Array(repeating: nil, count: items.count)
        results.withUnsafeMutableBufferPointer { slots in
            // Each iteration reads its own item, writes its own slot and works on its own copy of a cluster
            // (copy on write: the first write to a shared array copies it).
            nonisolated(unsafe) let slots = slots
            nonisolated(unsafe) let items = items
            nonisolated(unsafe) let work = work
            DispatchQueue.concurrentPerform(iterations: items.count) { index in
                slots[index] = Swift.Result { try work(items[index]) }
            }
        }
        return try results.map { try $0!.get() }
    }
}
