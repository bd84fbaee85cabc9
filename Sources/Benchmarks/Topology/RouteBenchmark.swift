import Topology

/// `vhpc bench topology`: how long routes take to (re)compute on binomial graphs after failures, and how
/// much routing state each agent keeps. Build in release: `swift build -c release`.
public struct RouteBenchmark: Sendable {
    public var sizes: [Int]
    public var failures: Double
    public var repetitions: Int
    public var lookups: Int
    public var allTablesLimit: Int
    public var seed: UInt64

    public init(sizes: [Int], failures: Double, repetitions: Int, lookups: Int, allTablesLimit: Int, seed: UInt64) {
        self.sizes = sizes
        self.failures = failures
        self.repetitions = repetitions
        self.lookups = lookups
        self.allTablesLimit = allTablesLimit
        self.seed = seed
    }

    public func run() throws {
        #if DEBUG
        print("warning: debug build; figures are only meaningful with `swift build -c release`\n")
        #endif
        var routeRows = [["n", "failed", "edges", "graph build", "table (1 agent)", "failover table", "all tables",
                          "table B/agent", "graph CSR B"]]
        var greedyRows = [["n", "greedy ns/lookup", "greedy ns/lookup (failures)", "greedy delivered",
                           "mean hops greedy", "mean hops table"]]
        for n in sizes {
            let result = try TopologyBenchmark(
                nodeCount: n, failureFraction: failures, repetitions: repetitions, lookups: lookups,
                allTables: n <= allTablesLimit, seed: seed
            ).run()
            routeRows.append([
                "\(n)", "\(result.failedCount)", "\(result.linkCount)",
                TopologyBenchFormat.duration(result.graphBuild), TopologyBenchFormat.duration(result.oneTable),
                TopologyBenchFormat.duration(result.failoverTable),
                result.allTables.map(TopologyBenchFormat.duration) ?? "-",
                "\(result.tableBytes)", "\(result.graphBytes)",
            ])
            greedyRows.append([
                "\(n)", TopologyBenchFormat.nanoseconds(result.greedyFaultFree), TopologyBenchFormat.nanoseconds(result.greedyWithFailures),
                TopologyBenchFormat.percent(result.greedyDelivered), TopologyBenchFormat.decimal(result.greedyMeanHops),
                TopologyBenchFormat.decimal(result.tableMeanHops),
            ])
        }
        print("Binomial graph routes after \(TopologyBenchFormat.percent(failures)) random failures (seed \(seed), median of \(repetitions))\n")
        print(TopologyBenchFormat.table(routeRows))
        print(TopologyBenchFormat.table(greedyRows))
        print("""
            table (1 agent): one agent's next hop to every rank over survivors (one BFS); failover table: the
            same over the boot tree + BMG links; all tables: every agent's table; table B/agent: routing state
            one agent keeps (1 byte per destination + its neighbour list); graph CSR B: the shared adjacency
            arrays. Greedy BMG routing keeps no table (only the failure set); 'delivered' counts random
            survivor pairs routed greedily to the end, the rest would fall back to the table.
            """)
    }
}
