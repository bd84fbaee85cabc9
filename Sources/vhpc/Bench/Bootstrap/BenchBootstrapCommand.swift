import ArgumentParser
import Benchmarks

/// `vhpc bench`'s options for ``BootstrapBenchmark`` (which runs the benchmark and prints its figures).
struct BenchBootstrapCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bootstrap", abstract: "Agent bootstrap time vs mpirun.")

    @Option(help: "Agent counts.") var sizes: [Int] = [16, 64, 256, 1024]
    @Option(help: "Boot tree fanouts to compare.") var fanout: [Int] = [2, 4]
    @Option(name: .customLong("agents-per-process"), help: "Agents per OS process from --pack-from agents on.") var agentsPerProcess: Int = RunDefaults.localAgentsPerProcess
    @Option(name: .customLong("pack-from"), help: "Smallest N run with --agents-per-process (below: one agent per process).")
    var packFrom: Int = 16
    @Option(name: .customLong("repeat"), help: "Repetitions per point (median reported).") var repetitions: Int = 3
    @Option(name: .customLong("mpirun-timeout"), help: "Seconds after which an mpirun run counts as hung and is killed.")
    var mpirunTimeoutSeconds: Int = 20
    @Flag(name: .customLong("wired-only"), help: "Only time bootstrap to wired (no `run true`, no other launchers): for profiling.")
    var wiredOnly = false

    func run() async throws {
        LoggingSetup.bootstrap(verbose: false)
        try await BootstrapBenchmark(
            sizes: sizes, fanout: fanout, agentsPerProcess: agentsPerProcess, packFrom: packFrom,
            repetitions: repetitions, mpirunTimeoutSeconds: mpirunTimeoutSeconds, wiredOnly: wiredOnly
        ).run()
    }
}
