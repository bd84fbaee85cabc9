import Testing
import Topology

/// The binomial graph stays connected after any (degree − 1) rank failures.
@Suite struct BinomialGraphFaultToleranceTests {
    /// Connectivity of the survivors with ranks as bits of a mask (n ≤ 64), for exhaustive sweeps.
    static func survivorsConnected(neighborMasks: [UInt64], alive: UInt64) -> Bool {
        guard alive != 0 else { return true }
        var reached = alive & (~alive &+ 1)  // lowest surviving rank
        var frontier = reached
        while frontier != 0 {
            var next: UInt64 = 0
            var bits = frontier
            while bits != 0 {
                let rank = bits.trailingZeroBitCount
                bits &= bits - 1
                next |= neighborMasks[rank]
            }
            frontier = next & alive & ~reached
            reached |= frontier
        }
        return reached == alive
    }

    /// Calls `body` with every subset of `0..<n` of size `k`, as a bit mask.
    static func forEachSubset(of n: Int, size k: Int, _ body: (UInt64) -> Void) {
        guard k <= n else { return }
        if k == 0 { body(0); return }
        var subset: UInt64 = (1 << UInt64(k)) - 1
        let limit: UInt64 = 1 << UInt64(n)
        while subset < limit {
            body(subset)
            // Gosper's hack: the next larger integer with the same number of set bits.
            let lowest = subset & (~subset &+ 1)
            let ripple = subset &+ lowest
            subset = (((ripple ^ subset) >> 2) / lowest) | ripple
        }
    }

    @Test func survivesEveryChoiceOfDegreeMinusOneFailuresForSmallN() throws {
        for n in 2...24 {
            let bmg = try BinomialGraph(nodeCount: n)
            let graph = bmg.graph()
            let masks = (0..<n).map { rank in graph.neighbors(of: rank).reduce(UInt64(0)) { $0 | (1 << UInt64($1)) } }
            let everyone: UInt64 = (1 << UInt64(n)) - 1
            var subsets = 0
            var disconnected = 0
            Self.forEachSubset(of: n, size: bmg.degree - 1) { failed in
                subsets += 1
                if !Self.survivorsConnected(neighborMasks: masks, alive: everyone & ~failed) { disconnected += 1 }
            }
            #expect(subsets > 0)
            #expect(disconnected == 0, "n=\(n): \(disconnected) of \(subsets) failure sets disconnect the graph")
        }
    }

    @Test func degreeFailuresCanIsolateARank() throws {
        // The bound is tight: failing all neighbours of a rank cuts it off, and the library must notice.
        for n in [6, 17, 24, 100, 4096] {
            let bmg = try BinomialGraph(nodeCount: n)
            let target = n / 3
            let neighbors = bmg.neighbors(of: target)
            let surviving = try SurvivingGraph(graph: bmg.graph(), failures: FailureSet(nodes: neighbors))
            #expect(!surviving.isConnected, "n=\(n)")
            let observer = try #require((0..<n).first { $0 != target && !neighbors.contains($0) })
            #expect(surviving.unreachable(from: observer) == [target], "n=\(n)")
        }
    }

    /// Menger: the graph survives any (degree − 1) failures exactly when every two non-adjacent ranks are
    /// joined by `degree` rank-disjoint paths. The graph is circulant and symmetric under i → −i, so pairs
    /// (0, w) with w ≤ n/2 cover all pairs.
    @Test func hasDegreeManyDisjointPathsBetweenAllPairs() throws {
        for n in Array(25...64) + [96, 100, 127, 128, 129, 200] {
            let bmg = try BinomialGraph(nodeCount: n)
            let adjacency = TestSupport.adjacency(bmg.graph())
            let neighborsOfZero = Set(adjacency[0])
            for target in 2...(n / 2) where !neighborsOfZero.contains(target) {
                let paths = DisjointPaths.count(adjacency, from: 0, to: target, atLeast: bmg.degree)
                #expect(paths >= bmg.degree, "n=\(n) target=\(target) paths=\(paths) degree=\(bmg.degree)")
            }
        }
    }

    @Test(arguments: [1000, 1023, 4096, 4097, 10_007, 65_536])
    func survivesSampledAndAdversarialFailuresForLargeN(n: Int) throws {
        let bmg = try BinomialGraph(nodeCount: n)
        let graph = bmg.graph()
        let budget = bmg.degree - 1
        var generator = SplitMix64(seed: UInt64(n))
        var scenarios: [Set<Int>] = []
        // Adversarial: all but one neighbour of a rank; the neighbourhood of a linked pair.
        for _ in 0..<4 {
            let rank = generator.uniform(below: n)
            let neighbors = bmg.neighbors(of: rank)
            let spared = neighbors[generator.uniform(below: neighbors.count)]
            scenarios.append(Set(neighbors.filter { $0 != spared }))
            let partner = neighbors[generator.uniform(below: neighbors.count)]
            let pairNeighborhood = Set(neighbors + bmg.neighbors(of: partner)).subtracting([rank, partner])
            scenarios.append(Set(pairNeighborhood.sorted().prefix(budget)))
        }
        // Random: any degree − 1 ranks.
        for _ in 0..<6 {
            var failed = Set<Int>()
            while failed.count < budget { failed.insert(generator.uniform(below: n)) }
            scenarios.append(failed)
        }
        for failed in scenarios {
            #expect(failed.count <= budget)
            let surviving = try SurvivingGraph(graph: graph, failures: FailureSet(nodes: failed))
            #expect(surviving.isConnected, "n=\(n) failed=\(failed.sorted())")
        }
    }
}

/// Counts rank-disjoint paths with unit-capacity max flow on the split graph (each rank v becomes
/// v_in → v_out with capacity 1), stopping once `atLeast` paths are found.
enum DisjointPaths {
    static func count(_ adjacency: [[Int]], from source: Int, to sink: Int, atLeast limit: Int) -> Int {
        let n = adjacency.count
        // Node ids: v_in = 2v, v_out = 2v + 1. Arcs stored as parallel arrays with reverse indices.
        var head: [Int] = []
        var capacity: [Int] = []
        var outgoing = [[Int]](repeating: [], count: 2 * n)
        func addArc(_ from: Int, _ to: Int, _ cap: Int) {
            outgoing[from].append(head.count)
            head.append(to)
            capacity.append(cap)
            outgoing[to].append(head.count)
            head.append(from)
            capacity.append(0)
        }
        for v in 0..<n {
            addArc(2 * v, 2 * v + 1, v == source || v == sink ? n : 1)
            for w in adjacency[v] { addArc(2 * v + 1, 2 * w, 1) }
        }
        let start = 2 * source + 1
        let goal = 2 * sink
        var flow = 0
        while flow < limit {
            var arcInto = [Int](repeating: -1, count: 2 * n)
            var visited = [Bool](repeating: false, count: 2 * n)
            visited[start] = true
            var queue = [start]
            var index = 0
            while index < queue.count, !visited[goal] {
                let node = queue[index]
                index += 1
                for arc in outgoing[node] where capacity[arc] > 0 && !visited[head[arc]] {
                    visited[head[arc]] = true
                    arcInto[head[arc]] = arc
                    queue.append(head[arc])
                }
            }
            guard visited[goal] else { break }
            var node = goal
            while node != start {
                let arc = arcInto[node]
                capacity[arc] -= 1
                capacity[arc ^ 1] += 1
                node = head[arc ^ 1]
            }
            flow += 1
        }
        return flow
    }
}
