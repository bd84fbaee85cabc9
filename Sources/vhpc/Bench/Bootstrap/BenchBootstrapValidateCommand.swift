import ArgumentParser
import Benchmarks

/// `vhpc bench`'s options for ``BootstrapValidateBenchmark`` (which runs the benchmark and prints its figures).
struct BenchBootstrapValidateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bootstrap-validate",
        abstract: "The bootstrap model's predictions for this host against real runs (wired time and CPU, side by side).")

    @Option(help: "Agent counts (the first one also calibrates the per-message costs).") var sizes: [Int] = [64, 256, 1024]
    @Option(help: "Boot tree fanout.") var fanout: Int = 4
    @Option(name: .customLong("runs"), help: "Real runs per size (median).") var runs: Int = 5
    @Option(help: "Agents per process of the second calibration job (at the first size; its links mostly cross processes).")
    var calibrationPacking: Int = 32

    func validate() throws {
        guard !sizes.isEmpty, sizes.allSatisfy({ $0 >= 2 }) else { throw ValidationError("--sizes must be at least 2") }
        guard fanout >= 1, runs >= 1, calibrationPacking >= 1 else { throw ValidationError("--fanout, --runs and --calibration-packing must be at least 1") }
    }

    func run() async throws {
        LoggingSetup.bootstrap(verbose: false)
        try await BootstrapValidateBenchmark(
            sizes: sizes, fanout: fanout, runs: runs, calibrationPacking: calibrationPacking,
            packing: { RunDefaults.agentsPerProcess(launcher: "local", nodes: $0) }
        ).run()
    }
}
