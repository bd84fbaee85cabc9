import ArgumentParser
import Benchmarks

/// `vhpc bench`'s options for ``DetectModelBenchmark`` (which runs the benchmark and prints its figures).
struct BenchDetectModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detect-model",
        abstract: "Failure detection and rerouting on a modelled cluster (scale simulation of the real agent state machines).",
        discussion: """
            Per N: one bootstrap, then on copies of the wired cluster side by side: launch (every heartbeat \
            detector armed) and a period on, then on copies of that cluster side by side one period of steady \
            state (HEARTBEAT RECEIVED/AGENT/PERIOD: pings and pongs each node's agent read, mean and largest) \
            and --fraction of the nodes killed (kill -9: links close, SIGCHLD) or hung (kill -STOP: silent, \
            links open) at random, each fault on its own copy; DETECTED is how many the controller declared, with the time from the failure (median and \
            largest), FALSE how many it declared that had not failed, FAILURE TRAFFIC what each survivor read \
            besides heartbeats until the last was declared (reports, notices, redials' frames). REROUTE (on a copy not launched: no heartbeat detector armed) kills degree - 1 agents (the binomial graph's degree: around \
            one agent, all but one or more of its neighbours; or at random), waits for the detectors, then has \
            every surviving node report to the controller: REACHED counts the reports that arrived.
            """)

    @Option(help: "Node counts.") var sizes: [Int] = [1024, 4096]
    @Option(help: "Boot tree fanout.") var fanout: Int = 4
    @Option(help: "Fraction of the nodes failed.") var fraction: Double = 0.01
    @Option(name: .customLong("heartbeat-ms"), help: "Heartbeat period, milliseconds (timeout 1.5 periods).") var heartbeatMilliseconds: Int = 1000
    @Option(name: .customLong("latency-us"), help: "One-way link latency, microseconds.") var latencyMicroseconds: Double = 25
    @Option(help: "Seed of the random choices.") var seed: UInt64 = 1
    @Flag(name: .customLong("no-reroute"), help: "Skip the rerouting runs.") var noReroute = false

    func validate() throws {
        guard sizes.allSatisfy({ $0 >= 2 }), fanout >= 1 else { throw ValidationError("--sizes must be at least 2 and --fanout at least 1") }
        guard fraction > 0, fraction < 1 else { throw ValidationError("--fraction must be between 0 and 1") }
        guard heartbeatMilliseconds > 0, latencyMicroseconds >= 0 else { throw ValidationError("--heartbeat-ms must be positive, --latency-us not negative") }
    }

    func run() throws {
        SimulatorHeap.useHugePages()
        print(SimulatorHeap.note)
        try DetectModelBenchmark(
            sizes: sizes, fanout: fanout, fraction: fraction, heartbeatMilliseconds: heartbeatMilliseconds,
            latencyMicroseconds: latencyMicroseconds, seed: seed, noReroute: noReroute
        ).run()
    }
}
