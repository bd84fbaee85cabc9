import ArgumentParser
import Benchmarks

/// `vhpc bench`'s options for ``MPIBenchmark`` (which runs the benchmark and prints its figures).
struct BenchMPICommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mpi", abstract: "MPI job start-to-end time: vhpc vs mpirun, mpiexec.hydra and srun.")

    @Option(name: .customLong("sizes"), help: "Ranks per job (repeatable).") var sizes: [Int] = [4, 16, 64]
    @Option(help: "Runs per launcher and size.") var runs: Int = 5
    @Option(help: "Nodes for vhpc run (ranks are spread over them).") var nodes: Int = 1
    @Option(help: "Seconds after which a run counts as failed (hung) and is killed.") var timeout: Int = 60

    func run() async throws {
        try await MPIBenchmark(
            sizes: sizes, runs: runs, nodes: nodes, timeout: timeout
        ).run()
    }
}
