import Topology

/// Helpers shared by the topology tests: sample sizes and reference algorithms written independently
/// of the library (plain adjacency lists, no masks or CSR tricks).
enum TestSupport {
    /// ⌈log2 n⌉ for n ≥ 1, by integer doubling.
    static func ceilLog2(_ n: Int) -> Int {
        var exponent = 0
        var power = 1
        while power < n {
            power *= 2
            exponent += 1
        }
        return exponent
    }

    /// Node counts to sweep: every n up to 64, powers of two up to 8192 and their neighbours, assorted
    /// non-powers, and seeded random sizes beyond 4096.
    static let sizes: [Int] = {
        var result = Set(1...64)
        var power = 128
        while power <= 8192 {
            result.formUnion([power - 1, power, power + 1])
            power *= 2
        }
        result.formUnion([100, 255, 257, 500, 999, 1000, 1001, 3000, 5000, 6000, 10_007])
        var generator = SplitMix64(seed: 2024)
        for _ in 0..<4 { result.insert(4097 + generator.uniform(below: 20_000)) }
        result.insert(65_536 + generator.uniform(below: 40_000))
        return result.sorted()
    }()

    /// Node counts small enough for all-pairs checks.
    static let smallSizes: [Int] = Array(1...40) + [63, 64, 65, 100, 127, 128, 129]

    /// Neighbour lists of `graph`, as plain arrays.
    static func adjacency(_ graph: Graph) -> [[Int]] {
        (0..<graph.nodeCount).map { graph.neighbors(of: $0).map(Int.init) }
    }

    /// The binomial graph straight from its definition: i ~ j when |i − j| mod n, either way round, is a
    /// power of two below n.
    static func bruteForceBinomialGraph(_ n: Int) -> [[Int]] {
        func isJump(_ d: Int) -> Bool { d > 0 && d < n && d & (d - 1) == 0 }
        return (0..<n).map { i in
            (0..<n).filter { j in j != i && (isJump((j - i + n) % n) || isJump((i - j + n) % n)) }
        }
    }

    /// Reference breadth-first distances over `adjacency` minus failed ranks and links (−1 = unreachable).
    static func distances(_ adjacency: [[Int]], from source: Int, failed: Set<Int> = [], failedLinks: Set<Link> = []) -> [Int] {
        var distance = [Int](repeating: -1, count: adjacency.count)
        guard !failed.contains(source) else { return distance }
        distance[source] = 0
        var frontier = [source]
        while !frontier.isEmpty {
            var next: [Int] = []
            for u in frontier {
                for v in adjacency[u] where distance[v] < 0 && !failed.contains(v) && !failedLinks.contains(Link(u, v)) {
                    distance[v] = distance[u] + 1
                    next.append(v)
                }
            }
            frontier = next
        }
        return distance
    }

    /// A failure set of `count` distinct random ranks (rank 0 may fail too) and `linkCount` random links.
    static func randomFailures(graph: Graph, count: Int, linkCount: Int = 0, generator: inout SplitMix64) -> FailureSet {
        var nodes = Set<Int>()
        while nodes.count < min(count, graph.nodeCount) { nodes.insert(generator.uniform(below: graph.nodeCount)) }
        var links = Set<Link>()
        let allLinks = graph.links
        while links.count < min(linkCount, allLinks.count) { links.insert(allLinks[generator.uniform(below: allLinks.count)]) }
        return FailureSet(nodes: nodes, links: links)
    }
}
