/// Distance measures over a surviving graph: eccentricity, diameter, circulant structure.
extension SurvivingGraph {
    /// The default work limit for an exact diameter by all-sources search (adjacency entries visited,
    /// 64 sources at a time): about a second in a release build.
    public static let defaultDiameterBudget = 2_000_000_000

    /// The largest hop count from `source` to any rank it reaches, or nil if `source` failed.
    public func eccentricity(of source: Int) -> Int? {
        guard isAlive(source) else { return nil }
        return Int(distances(from: source).max() ?? 0)
    }

    /// The diameter of the surviving component that contains `rank` (nil if `rank` failed).
    ///
    /// Exact when cheap: a single search for a fault-free circulant graph (every rank sees the same
    /// distances), a double sweep when the component is a tree, 1 for a complete component, a search from
    /// every rank (bit-parallel, 64 sources per sweep) while that costs at most `budget` adjacency visits. Otherwise bounds: the largest distance
    /// found from sampled sweeps (lower), twice the smallest sampled eccentricity (upper).
    public func diameter(ofComponentContaining rank: Int, budget: Int = defaultDiameterBudget) -> Diameter? {
        guard isAlive(rank) else { return nil }
        let fromRank = distances(from: rank)
        let component = (0..<nodeCount).filter { fromRank[$0] >= 0 }
        let eccentricityOfRank = Int(fromRank.max() ?? 0)
        if component.count <= 2 { return Diameter(exactly: component.count - 1) }

        if failures.isEmpty, graph.isCirculant { return Diameter(exactly: eccentricityOfRank) }

        let adjacency = component.reduce(0) { $0 + usableDegree(of: $1) }
        if adjacency == 2 * (component.count - 1) {
            // A tree: the farthest rank from anywhere is an end of a longest path.
            let farthest = component.max { fromRank[$0] < fromRank[$1] }!
            return Diameter(exactly: eccentricity(of: farthest)!)
        }
        if adjacency == component.count * (component.count - 1) { return Diameter(exactly: 1) }

        // All-sources search, 64 sources per pass: about ⌈c/64⌉ · (eccentricity + 2) sweeps over the adjacency.
        let batches = (component.count + 63) / 64
        let (work, overflow) = batches.multipliedReportingOverflow(by: adjacency * (eccentricityOfRank + 2))
        if !overflow, work <= budget {
            return Diameter(exactly: largestEccentricity(of: component))
        }
        return sampledDiameter(component: component, from: rank, distances: fromRank)
    }

    /// The largest eccentricity among `sources`, by bit-parallel breadth-first search: bit i of a rank's word
    /// says whether source i of the batch has reached it. Each level pulls the frontier bits of usable
    /// neighbours; the batch ends when no rank gains a bit, after (largest eccentricity + 1) levels.
    func largestEccentricity(of sources: [Int]) -> Int {
        let n = nodeCount
        var largest = 0
        var visited = [UInt64](repeating: 0, count: n)
        var frontier = [UInt64](repeating: 0, count: n)
        var next = [UInt64](repeating: 0, count: n)
        var batchStart = 0
        while batchStart < sources.count {
            let batch = sources[batchStart..<min(batchStart + 64, sources.count)]
            batchStart += 64
            for index in 0..<n {
                visited[index] = 0
                frontier[index] = 0
            }
            for (bit, source) in batch.enumerated() {
                visited[source] |= 1 << UInt64(bit)
                frontier[source] |= 1 << UInt64(bit)
            }
            var level = 0
            while true {
                var grew = false
                graph.offsets.withUnsafeBufferPointer { offsets in
                    graph.targets.withUnsafeBufferPointer { targets in
                        alive.withUnsafeBufferPointer { alive in
                            linkAlive.withUnsafeBufferPointer { linkAlive in
                                visited.withUnsafeBufferPointer { visited in
                                    frontier.withUnsafeBufferPointer { frontier in
                                        next.withUnsafeMutableBufferPointer { next in
                                            let checkLinks = !linkAlive.isEmpty
                                            for v in 0..<n {
                                                guard alive[v] else { next[v] = 0; continue }
                                                var gathered: UInt64 = 0
                                                for slot in Int(offsets[v])..<Int(offsets[v + 1]) {
                                                    let u = Int(targets[slot])
                                                    if alive[u], !checkLinks || linkAlive[slot] { gathered |= frontier[u] }
                                                }
                                                gathered &= ~visited[v]
                                                next[v] = gathered
                                                if gathered != 0 { grew = true }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                guard grew else { break }
                level += 1
                for index in 0..<n { visited[index] |= next[index] }
                swap(&frontier, &next)
            }
            largest = max(largest, level)
        }
        return largest
    }

    /// Number of usable links at `rank`.
    func usableDegree(of rank: Int) -> Int {
        guard isAlive(rank) else { return 0 }
        var count = 0
        for slot in Int(graph.offsets[rank])..<Int(graph.offsets[rank + 1]) {
            let neighbor = Int(graph.targets[slot])
            if isAlive(neighbor), linkAlive.isEmpty || linkAlive[slot] { count += 1 }
        }
        return count
    }

    /// Bounds from repeated sweeps (each from the farthest rank of the last) plus evenly spread sources.
    private func sampledDiameter(component: [Int], from rank: Int, distances fromRank: [Int32]) -> Diameter {
        var lower = Int(fromRank.max() ?? 0)
        var upper = 2 * lower
        var current = fromRank
        for _ in 0..<8 {
            let farthest = component.max { current[$0] < current[$1] }!
            current = distances(from: farthest)
            let eccentricity = Int(current.max() ?? 0)
            lower = max(lower, eccentricity)
            upper = min(upper, 2 * eccentricity)
        }
        let spread = 16
        for index in 0..<spread {
            let source = component[index * component.count / spread]
            let eccentricity = Int(distances(from: source).max() ?? 0)
            lower = max(lower, eccentricity)
            upper = min(upper, 2 * eccentricity)
        }
        return Diameter(lowerBound: lower, upperBound: max(lower, upper))
    }
}

extension Graph {
    /// Whether the graph is circulant: the neighbours of every rank r are those of rank 0 shifted by r (mod n).
    /// Circulant graphs (binomial graphs, rings, meshes) look the same from every rank.
    public var isCirculant: Bool {
        var isOffsetOfZero = [Bool](repeating: false, count: nodeCount)
        for neighbor in neighbors(of: 0) { isOffsetOfZero[Int(neighbor)] = true }
        let degreeOfZero = degree(of: 0)
        // Lists hold no duplicates, so equal sizes plus inclusion means equal sets.
        for rank in 1..<max(nodeCount, 1) {
            guard degree(of: rank) == degreeOfZero else { return false }
            for neighbor in neighbors(of: rank) {
                let shifted = Int(neighbor) - rank
                guard isOffsetOfZero[shifted < 0 ? shifted + nodeCount : shifted] else { return false }
            }
        }
        return true
    }
}
