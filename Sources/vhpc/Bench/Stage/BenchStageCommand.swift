import ArgumentParser
import Benchmarks
import NodeAgent

/// `vhpc bench`'s options for ``StageBenchmark`` (which runs the benchmark and prints its figures).
struct BenchStageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stage", abstract: "File staging over the agent tree vs plain copies.")

    @Option(help: "File size (e.g. 1G, 256M).") var size: String = "1G"
    @Option(help: "Node counts.") var nodes: [Int] = [4, 16, 64]
    @Option(help: "Boot tree fanout.") var fanout: Int = 2
    @Option(name: .customLong("agents-per-process"), help: "Agents per OS process for N ≥ 64.") var agentsPerProcess: Int = 8
    @Option(name: .customLong("chunk-size"), help: "Staging chunk size in bytes.") var chunkSize: Int = StagePlan.defaultChunkSize
    @Flag(name: .customLong("no-fsync"), help: "Neither vhpc nor the copies fsync (page cache only).") var noFsync = false
    @Option(help: "Working directory (default: a fresh one under $TMPDIR; removed afterwards).") var directory: String?

    func run() async throws {
        LoggingSetup.bootstrap(verbose: false)
        try await StageBenchmark(
            size: size, nodes: nodes, fanout: fanout, agentsPerProcess: agentsPerProcess, chunkSize: chunkSize,
            noFsync: noFsync, directory: directory
        ).run()
    }
}
