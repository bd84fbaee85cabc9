import ArgumentParser
import Topology

/// `vhpc bench topology`: how long routes take to (re)compute on binomial graphs after failures, and how
/// much routing state each agent keeps. Build in release: `swift build -c release`.
struct BenchTopologyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topology",
        abstract: "Route computation benchmark.",
        discussion: """
            For each size: build the binomial graph, fail a random fraction of ranks (never rank 0), then \
            time one agent's next-hop table over the survivors (one breadth-first search), the same for the \
            failover router's tree+BMG graph, every agent's table (sizes up to --all-tables-limit), and \
            table-free greedy BMG lookups. Times are medians over --repetitions runs.
            """
    )

    @Option(name: .long, help: "Comma-separated node counts.")
    var sizes: String = "1000,10000,100000"

    @Option(name: .long, help: "Fraction of ranks to fail.")
    var failures: Double = 0.01

    @Option(name: .long, help: "Repetitions per measurement (the median is printed).")
    var repetitions: Int = 9

    @Option(name: .long, help: "Greedy lookups per measurement.")
    var lookups: Int = 1_000_000

    @Option(name: .customLong("all-tables-limit"), help: "Largest size for which every agent's table is computed.")
    var allTablesLimit: Int = 1000

    @Option(name: .long, help: "Seed for the failed ranks and lookup pairs.")
    var seed: UInt64 = 1

    func validate() throws {
        guard (0..<1).contains(failures) else { throw ValidationError("--failures must be a fraction in [0, 1)") }
        guard repetitions >= 1 else { throw ValidationError("--repetitions must be at least 1") }
        guard lookups >= 1 else { throw ValidationError("--lookups must be at least 1") }
        _ = try parsedSizes()
    }

    func run() async throws {
        #if DEBUG
        print("warning: debug build; figures are only meaningful with `swift build -c release`\n")
        #endif
        var routeRows = [["n", "failed", "edges", "graph build", "table (1 agent)", "failover table", "all tables",
                          "table B/agent", "graph CSR B"]]
        var greedyRows = [["n", "greedy ns/lookup", "greedy ns/lookup (failures)", "greedy delivered",
                           "mean hops greedy", "mean hops table"]]
        for n in try parsedSizes() {
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

    private func parsedSizes() throws -> [Int] {
        let values = sizes.split(separator: ",").map { Int($0.filter { !$0.isWhitespace }) }
        guard !values.isEmpty, values.allSatisfy({ ($0 ?? 0) >= 2 }) else {
            throw ValidationError("--sizes must be comma-separated node counts of at least 2 (got '\(sizes)')")
        }
        return values.compactMap { $0 }
    }
}
