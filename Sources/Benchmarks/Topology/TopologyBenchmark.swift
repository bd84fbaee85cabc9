import Topology

/// One size of `vhpc bench topology`: builds a binomial graph, fails ranks, and times route computation.
struct TopologyBenchmark {
    let nodeCount: Int
    let failureFraction: Double
    let repetitions: Int
    let lookups: Int
    let allTables: Bool
    let seed: UInt64

    /// The figures for one size.
    struct Result {
        var failedCount = 0
        var linkCount = 0
        var graphBuild = Duration.zero
        var oneTable = Duration.zero
        var failoverTable = Duration.zero
        var allTables: Duration?
        var tableBytes = 0
        var graphBytes = 0
        var greedyFaultFree = Duration.zero
        var greedyWithFailures = Duration.zero
        var greedyDelivered = 0.0
        var greedyMeanHops = 0.0
        var tableMeanHops = 0.0
    }

    func run() throws -> Result {
        var result = Result()
        let n = nodeCount
        var generator = SplitMix64(seed: seed)
        let failures = try FailureSet.random(
            count: Int((failureFraction * Double(n)).rounded()), nodeCount: n, using: &generator
        )
        result.failedCount = failures.nodes.count

        let bmg = try BinomialGraph(nodeCount: n)
        result.graphBuild = median { blackHole(bmg.graph()) }
        let graph = bmg.graph()
        result.linkCount = graph.linkCount
        result.graphBytes = graph.memoryFootprint

        let surviving = try SurvivingGraph(graph: graph, failures: failures)
        result.oneTable = median { blackHole(try! SurvivingGraph(graph: graph, failures: failures).routingTable(from: 0)) }
        let table = surviving.routingTable(from: 0)
        result.tableBytes = table.memoryFootprint

        var router = try FailoverRouter(rank: 0, tree: try BootTree(kind: .tree(arity: 2), nodeCount: n))
        result.failoverTable = median {
            try! router.update(failures: failures)
            blackHole(router.fallbackTable)
        }

        if allTables {
            result.allTables = median(repetitions: max(1, min(repetitions, 3))) {
                for source in 0..<n { blackHole(surviving.routingTable(from: source)) }
            }
        }

        // Greedy lookups over random pairs, without failures and with the failed ranks as a bitmap.
        let pairs = (0..<lookups).map { _ in (generator.uniform(below: n), generator.uniform(below: n)) }
        let greedy = GreedyBMGRouting(graph: bmg)
        result.greedyFaultFree = median {
            var sum = 0
            for (source, destination) in pairs { sum &+= greedy.nextHop(from: source, to: destination) ?? 0 }
            blackHole(sum)
        } / lookups
        var alive = [Bool](repeating: true, count: n)
        for rank in failures.nodes { alive[rank] = false }
        result.greedyWithFailures = median {
            var sum = 0
            for (source, destination) in pairs {
                sum &+= greedy.nextHop(from: source, to: destination) { alive[$0] && alive[$1] } ?? 0
            }
            blackHole(sum)
        } / lookups

        // Delivery and path lengths for surviving pairs from a few sources: greedy versus the table's
        // shortest paths (one search per source gives the exact distances).
        var delivered = 0
        var attempted = 0
        var greedyHops = 0
        var tableHops = 0
        let isUsable: (Int, Int) -> Bool = { alive[$0] && alive[$1] }
        for sample in 0..<min(16, pairs.count) {
            let source = pairs[sample].0
            guard alive[source] else { continue }
            let distance = surviving.distances(from: source)
            for (_, destination) in pairs[min(pairs.count, sample * 500)..<min(pairs.count, sample * 500 + 500)]
            where alive[destination] && destination != source {
                attempted += 1
                var current = source
                var hops = 0
                while current != destination,
                      let next = greedy.nextHop(from: current, to: destination, isUsable: isUsable) {
                    current = next
                    hops += 1
                }
                if current == destination {
                    delivered += 1
                    greedyHops += hops
                    tableHops += Int(distance[destination])
                }
            }
        }
        result.greedyDelivered = Double(delivered) / Double(max(attempted, 1))
        result.greedyMeanHops = Double(greedyHops) / Double(max(delivered, 1))
        result.tableMeanHops = Double(tableHops) / Double(max(delivered, 1))
        return result
    }

    /// Keeps a value alive so the optimiser cannot drop the work that produced it.
    @_optimize(none)
    private func blackHole<T>(_ value: T) {}

    /// Median wall time of `repetitions` runs of `body` (after one warm-up run).
    private func median(repetitions count: Int? = nil, _ body: () -> Void) -> Duration {
        let clock = ContinuousClock()
        body()
        var times = (0..<(count ?? repetitions)).map { _ in clock.measure(body) }
        times.sort()
        return times[times.count / 2]
    }
}
