import ArgumentParser
import Benchmarks

/// `vhpc bench`'s options for ``SoakBenchmark`` (which runs the benchmark and prints its figures).
struct BenchSoakCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "soak",
        abstract: "Jobs back to back with random kill/stop injection: failures, hangs, false failure reports, leftovers.")

    @Option(help: "Local jobs (vhpc run -N NODES -- true).") var runs: Int = 1000
    @Option(name: .customLong("vm-runs"), help: "VM jobs (vhpc run --vse SPEC -N 1 --vms-per-node 2 -- true).") var vmRuns: Int = 100
    @Option(help: "Nodes of each local job.") var nodes: Int = 16
    @Option(help: "The VSE of the VM jobs (built first if needed).") var vse: String = "examples/tiny.yaml"
    @Option(help: "Share of the local jobs that get a fault (an agent process killed or stopped while its tasks run).")
    var faults: Double = 0.1
    @Option(help: "Seconds after which a job counts as hung and is killed.") var timeout: Int = 60
    @Option(help: "Seed of the fault injection (default: random).") var seed: UInt64?

    func run() async throws {
        try await SoakBenchmark(
            runs: runs, vmRuns: vmRuns, nodes: nodes, vse: vse, faults: faults, timeout: timeout, seed: seed
        ).run()
    }
}
