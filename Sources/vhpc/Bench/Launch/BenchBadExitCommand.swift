import ArgumentParser
import Benchmarks

/// `vhpc bench`'s options for ``BadExitBenchmark`` (which runs the benchmark and prints its figures).
struct BenchBadExitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bad-exit", abstract: "Time from a rank's bad exit to the front-end's exit.")

    @Option(help: "Runs per configuration (the median is shown).") var runs: Int = 5
    @Option(help: "Nodes of the process job.") var nodes: Int = 16
    @Option(help: "VSE image for the VM job (skipped if it cannot be resolved).") var vse: String = "tiny"
    @Flag(name: .customLong("no-vms"), help: "Skip the VM job.") var noVMs = false
    @Option(help: "The MPI program's source (compiled with mpicc.mpich; skipped if missing).")
    var mpiSource: String = "tests/fixtures/mpi/early_exit.c"

    func run() async throws {
        try await BadExitBenchmark(
            runs: runs, nodes: nodes, vse: vse, noVMs: noVMs, mpiSource: mpiSource
        ).run()
    }
}
