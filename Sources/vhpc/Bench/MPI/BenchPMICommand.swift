import ArgumentParser
import Benchmarks

/// `vhpc bench`'s options for ``PMIBenchmark`` (which runs the benchmark and prints its figures).
struct BenchPMICommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pmi", abstract: "PMI-1 fence of a large job (puts, fence, a peer's get) over vhpc's tree.")

    @Option(help: "Ranks (tasks).") var ranks: Int = 4096
    @Option(help: "Nodes (agents).") var nodes: Int = 16
    @Option(name: .customLong("agents-per-process"), help: "Agents per agent process (1: a process per node, so the nodes' tasks are spawned in parallel).")
    var agentsPerProcess: Int = 1
    @Option(help: "Heartbeat period of the job (spawning thousands of ranks keeps agents busy for seconds).") var heartbeat: String = "10s"
    @Option(name: .customLong("value-bytes"), help: "Bytes each rank puts (MPICH's business card is about 60).") var valueBytes: Int = 64
    @Option(help: "Runs.") var runs: Int = 3
    @Option(help: "Seconds after which a run counts as failed and is killed.") var timeout: Int = 300

    func run() async throws {
        try await PMIBenchmark(
            ranks: ranks, nodes: nodes, agentsPerProcess: agentsPerProcess, heartbeat: heartbeat,
            valueBytes: valueBytes, runs: runs, timeout: timeout
        ).run()
    }
}
