import ArgumentParser
import Benchmarks

/// `vhpc bench`'s options for ``RouteBenchmark`` (which runs the benchmark and prints its figures).
struct BenchTopologyCommand: ParsableCommand {
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

    private func parsedSizes() throws -> [Int] {
        let values = sizes.split(separator: ",").map { Int($0.filter { !$0.isWhitespace }) }
        guard !values.isEmpty, values.allSatisfy({ ($0 ?? 0) >= 2 }) else {
            throw ValidationError("--sizes must be comma-separated node counts of at least 2 (got '\(sizes)')")
        }
        return values.compactMap { $0 }
    }

    func run() throws {
        try RouteBenchmark(
            sizes: try parsedSizes(), failures: failures, repetitions: repetitions, lookups: lookups,
            allTablesLimit: allTablesLimit, seed: seed
        ).run()
    }
}
