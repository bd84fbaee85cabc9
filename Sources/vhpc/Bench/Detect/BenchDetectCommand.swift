import ArgumentParser
import Benchmarks

/// `vhpc bench`'s options for ``DetectBenchmark`` (which runs the benchmark and prints its figures).
struct BenchDetectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "detect", abstract: "Failure detection latency and coverage.")

    @Option(help: "Trials per fault kind.") var trials: Int = 20
    @Option(help: "Nodes per trial job.") var nodes: Int = 8
    @Option(help: "Heartbeat period in milliseconds.") var period: Int = 500
    @Option(name: .customLong("traffic-nodes"), help: "Nodes of the job whose heartbeat traffic is counted on the wire.") var trafficNodes: Int = 256
    @Option(name: .customLong("traffic-period"),
            help: "Heartbeat period of that job in milliseconds (traffic is counted per period; 256 agent processes on a few loaded cores miss a short one's timeout).")
    var trafficPeriod: Int = 2000

    func run() async throws {
        LoggingSetup.bootstrap(verbose: false)
        try await DetectBenchmark(
            trials: trials, nodes: nodes, period: period, trafficNodes: trafficNodes, trafficPeriod: trafficPeriod
        ).run()
    }
}
