/// A graph seen through a failure set: failed ranks and failed links are skipped by every search.
///
/// Masks are flat arrays (one flag per rank, one per adjacency slot when links failed), so searches over
/// 100,000 ranks run in milliseconds.
public struct SurvivingGraph: Sendable {
    /// The full graph.
    public let graph: Graph
    /// What failed.
    public let failures: FailureSet
    /// `alive[r]` is false for failed ranks.
    let alive: [Bool]
    /// One flag per adjacency slot, false where the link failed; empty when no link failed.
    let linkAlive: [Bool]

    /// `graph` minus `failures`; throws if a failed rank or link lies outside the graph.
    public init(graph: Graph, failures: FailureSet = .none) throws(TopologyError) {
        try failures.validate(nodeCount: graph.nodeCount)
        self.graph = graph
        self.failures = failures
        var alive = [Bool](repeating: true, count: graph.nodeCount)
        for rank in failures.nodes { alive[rank] = false }
        self.alive = alive
        var linkAlive: [Bool] = []
        if !failures.links.isEmpty {
            linkAlive = [Bool](repeating: true, count: graph.targets.count)
            for link in failures.links {
                if let slot = graph.slot(of: link.upper, at: link.lower) { linkAlive[slot] = false }
                if let slot = graph.slot(of: link.lower, at: link.upper) { linkAlive[slot] = false }
            }
        }
        self.linkAlive = linkAlive
    }

    /// Number of ranks in the full graph.
    public var nodeCount: Int { graph.nodeCount }

    /// Number of ranks that have not failed.
    public var survivorCount: Int { graph.nodeCount - failures.nodes.count }

    /// Whether `rank` has not failed.
    public func isAlive(_ rank: Int) -> Bool { alive[rank] }

    /// Whether a message can cross directly between `a` and `b`: linked, both alive, link not failed.
    public func isLinkUsable(_ a: Int, _ b: Int) -> Bool {
        guard (0..<nodeCount).contains(a), (0..<nodeCount).contains(b), alive[a], alive[b],
              let slot = graph.slot(of: b, at: a)
        else { return false }
        return linkAlive.isEmpty || linkAlive[slot]
    }

    /// The neighbours of `rank` reachable over a usable link, ascending (empty if `rank` failed).
    public func usableNeighbors(of rank: Int) -> [Int] {
        guard alive[rank] else { return [] }
        var result: [Int] = []
        for slot in Int(graph.offsets[rank])..<Int(graph.offsets[rank + 1]) {
            let neighbor = Int(graph.targets[slot])
            if alive[neighbor], linkAlive.isEmpty || linkAlive[slot] { result.append(neighbor) }
        }
        return result
    }

    /// Hop counts from `source` to every rank over survivors; −1 where unreachable (everywhere if `source` failed).
    public func distances(from source: Int) -> [Int32] {
        breadthFirst(from: source, trackFirstHop: false).distance
    }

    /// Surviving ranks reachable from `source` (including itself), ascending; empty if `source` failed.
    public func reachable(from source: Int) -> [Int] {
        let distance = distances(from: source)
        return (0..<nodeCount).filter { distance[$0] >= 0 }
    }

    /// Surviving ranks that cannot be reached from `source`, ascending (all survivors if `source` failed).
    public func unreachable(from source: Int) -> [Int] {
        let distance = distances(from: source)
        return (0..<nodeCount).filter { alive[$0] && distance[$0] < 0 }
    }

    /// Whether every surviving rank can reach every other (true when at most one survives).
    public var isConnected: Bool {
        guard let first = alive.firstIndex(of: true) else { return true }
        let distance = distances(from: first)
        return (0..<nodeCount).allSatisfy { !alive[$0] || distance[$0] >= 0 }
    }

    /// The next-hop table of `source` over survivors.
    public func routingTable(from source: Int) -> RoutingTable {
        RoutingTable(surviving: self, source: source)
    }

    /// One breadth-first search from `source` over survivors.
    ///
    /// With `trackFirstHop`, `firstHop[v]` is the position, in `source`'s neighbour list, of the lowest-ranked
    /// neighbour of `source` that starts a shortest path to v (−1 where none). Neighbour lists are sorted,
    /// so the lowest position is the lowest rank. All nodes of one level are dequeued before the next, so
    /// when u is dequeued its value is final and can be pushed to every v one level further.
    func breadthFirst(from source: Int, trackFirstHop: Bool) -> (distance: [Int32], firstHop: [Int32]) {
        let n = graph.nodeCount
        var distance = [Int32](repeating: -1, count: n)
        var firstHop = trackFirstHop ? [Int32](repeating: -1, count: n) : []
        guard alive[source] else { return (distance, firstHop) }
        var queue = [Int32](repeating: 0, count: n)
        graph.offsets.withUnsafeBufferPointer { offsets in
            graph.targets.withUnsafeBufferPointer { targets in
                alive.withUnsafeBufferPointer { alive in
                    linkAlive.withUnsafeBufferPointer { linkAlive in
                        distance.withUnsafeMutableBufferPointer { distance in
                            firstHop.withUnsafeMutableBufferPointer { firstHop in
                                queue.withUnsafeMutableBufferPointer { queue in
                                    let checkLinks = !linkAlive.isEmpty
                                    distance[source] = 0
                                    var tail = 0
                                    let sourceStart = Int(offsets[source])
                                    for slot in sourceStart..<Int(offsets[source + 1]) {
                                        let v = Int(targets[slot])
                                        guard alive[v], !checkLinks || linkAlive[slot] else { continue }
                                        distance[v] = 1
                                        if trackFirstHop { firstHop[v] = Int32(slot - sourceStart) }
                                        queue[tail] = Int32(v)
                                        tail += 1
                                    }
                                    var head = 0
                                    while head < tail {
                                        let u = Int(queue[head])
                                        head += 1
                                        let next = distance[u] + 1
                                        let hop = trackFirstHop ? firstHop[u] : 0
                                        for slot in Int(offsets[u])..<Int(offsets[u + 1]) {
                                            let v = Int(targets[slot])
                                            guard alive[v], !checkLinks || linkAlive[slot] else { continue }
                                            let seen = distance[v]
                                            if seen < 0 {
                                                distance[v] = next
                                                if trackFirstHop { firstHop[v] = hop }
                                                queue[tail] = Int32(v)
                                                tail += 1
                                            } else if trackFirstHop, seen == next, hop < firstHop[v] {
                                                firstHop[v] = hop
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return (distance, firstHop)
    }
}
