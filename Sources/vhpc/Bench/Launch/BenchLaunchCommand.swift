import ArgumentParser
import Benchmarks
import Foundation
import HostProcess

/// `vhpc bench`'s options for ``LaunchBenchmark`` (which runs the benchmark and prints its figures).
struct BenchLaunchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "launch", abstract: "vhpc run vs srun vs mpiexec.hydra launch time inside one Slurm allocation.")

    @Option(name: .customLong("sizes"), help: "Task counts (repeatable).") var sizes: [Int] = [3, 48, 192]
    @Option(help: "Runs of each command at each size.") var runs: Int = 5
    @Option(help: "Nodes to allocate when run outside an allocation.") var nodes: Int = 3
    @Option(help: "Network interface hydra's proxies use to reach mpiexec (-iface); default: the one on the route to the first node.")
    var iface: String?
    @Option(help: "Seconds after which a run counts as failed and is killed.") var timeout: Int = 60
    @Option(name: .customLong("vs"), help: ArgumentHelp(
        "Another vhpc executable to time side by side in the same allocation (repeatable): a previous build.", valueName: "VHPC"))
    var others: [String] = []
    @Option(help: "Milliseconds to pause after every run (background work a command leaves is not charged to the next).")
    var settle: Int = 200

    func run() async throws {
        guard let allocation = try RunPlan.slurmAllocation(ProcessInfo.processInfo.environment) else {
            guard let salloc = ExecutableLookup.resolve("salloc") else { throw CLIErrors.fail("bench launch needs Slurm (salloc not in PATH)") }
            let command = [salloc, "--nodes=\(nodes)", "--exclusive", "--", ExecutableLookup.currentExecutable()]
                + Array(CommandLine.arguments.dropFirst())
            try SlurmAllocate.exec(command)
        }
        try await LaunchBenchmark(allocation: allocation, sizes: sizes, runs: runs, iface: iface, timeout: timeout, others: others,
                                  settle: .milliseconds(max(0, settle))).run()
    }
}
