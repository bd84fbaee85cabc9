import ArgumentParser
import Benchmarks

/// `vhpc bench`'s options for ``DetectLoadBenchmark`` (which runs the benchmark and prints its figures).
struct BenchDetectLoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "detect-load", abstract: "False agent failures under CPU saturation.")

    @Option(help: "Jobs per detector.") var jobs: Int = 5
    @Option(help: "Nodes (and spinning tasks) per job.") var nodes: Int = 32
    @Option(help: "Heartbeat period.") var heartbeat: String = "200ms"
    @Option(help: "Seconds each task spins.") var seconds: Int = 4

    func run() async throws {
        try await DetectLoadBenchmark(
            jobs: jobs, nodes: nodes, heartbeat: heartbeat, seconds: seconds
        ).run()
    }
}
