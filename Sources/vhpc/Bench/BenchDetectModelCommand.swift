import ArgumentParser
import Control
import Foundation

/// `vhpc bench detect-model`: failure detection and rerouting on a modelled cluster of N nodes, run by the
/// real agent state machines (``DetectionSimulation``); `vhpc bench detect` measures real processes on this
/// host.
struct BenchDetectModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detect-model",
        abstract: "Failure detection and rerouting on a modelled cluster (scale simulation of the real agent state machines).",
        discussion: """
            Per N: one bootstrap, launch (every heartbeat detector armed), one period of steady state (HEARTBEAT \
            RECEIVED/AGENT/PERIOD: pings and pongs each node's agent read, mean and largest), then --fraction \
            of the nodes killed (kill -9: links close, SIGCHLD) or hung (kill -STOP: silent, links open) at \
            random, each fault on its own copy of that cluster; DETECTED is how many the controller declared, with the time from the failure (median and \
            largest), FALSE how many it declared that had not failed, FAILURE TRAFFIC what each survivor read \
            besides heartbeats until the last was declared (reports, notices, redials' frames). REROUTE kills degree - 1 agents (the binomial graph's degree: around \
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
        #if DEBUG
        print("warning: debug build; the measured CPU is only meaningful with `swift build -c release`\n")
        #endif
        var model = BootstrapModel()
        model.linkLatency = .nanoseconds(Int64(latencyMicroseconds * 1000))
        let period = Duration.milliseconds(heartbeatMilliseconds)
        print(String(format: "Model: link %.0f us one-way; heartbeat %d ms, timeout 1.5 periods; %.1f %% of the nodes failed",
                     latencyMicroseconds, heartbeatMilliseconds, fraction * 100))
        var rows = [["N", "FAULT", "FAILED", "DETECTED", "LATENCY median (max)", "FALSE", "HEARTBEAT RECEIVED/AGENT/PERIOD mean (max)",
                     "FAILURE TRAFFIC RECEIVED/AGENT mean (max)", "AGENTS EXITED"]]
        var reroutes = [["N", "REROUTE", "KILLED", "SURVIVORS", "REACHED", "AGENTS EXITED"]]
        for size in sizes {
            let faults = DetectionSimulation.Fault.allCases
            let outcomes = try DetectionSimulation.run(
                nodes: size, fanout: fanout, model: model, cpu: .measured, faults: faults, fraction: fraction, period: period, seed: seed)
            for (fault, outcome) in zip(faults, outcomes) {
                guard outcome.wired != nil else {
                    throw ValidationError("N=\(size): bootstrap did not complete: \(outcome.exits.prefix(3).joined(separator: "; "))")
                }
                let heartbeat = outcome.heartbeat
                let after = outcome.afterFailures
                rows.append([
                    "\(size)", fault.rawValue, "\(outcome.failed)", "\(outcome.declared)",
                    "\(benchSeconds(outcome.medianLatency, decimals: 4, missing: "-")) (\(benchSeconds(outcome.maxLatency, decimals: 4, missing: "-")))",
                    "\(outcome.falsePositives)",
                    String(format: "%.1f frames, ", heartbeat.meanFrames) + "\(benchBytes(Int(heartbeat.meanBytes))) (\(heartbeat.maxFrames), \(benchBytes(heartbeat.maxBytes)))",
                    String(format: "%.1f frames, ", after.meanFrames) + "\(benchBytes(Int(after.meanBytes))) (\(after.maxFrames), \(benchBytes(after.maxBytes)))",
                    "\(outcome.exits.count)",
                ])
                print(TextTable.render([rows[0], rows.last!]), terminator: "")
            }
            guard !noReroute else { continue }
            let patterns = DetectionSimulation.Pattern.allCases
            let rerouted = try DetectionSimulation.reroute(nodes: size, fanout: fanout, model: model, cpu: .measured, patterns: patterns, seed: seed)
            for (pattern, outcome) in zip(patterns, rerouted) {
                reroutes.append([
                    "\(size)", pattern.rawValue, "\(outcome.failed)", "\(outcome.survivors)",
                    String(format: "%d (%.2f %%)", outcome.reached, 100 * Double(outcome.reached) / Double(max(1, outcome.survivors))),
                    "\(outcome.exits.count)",
                ])
            }
        }
        print("")
        print(TextTable.render(rows), terminator: "")
        if !noReroute {
            print("")
            print(TextTable.render(reroutes), terminator: "")
        }
        print("""
            Scale simulation, not a run: the protocol code and its CPU are real (this machine's), the cluster \
            is modelled. Measured runs on this host: vhpc bench detect.
            """)
    }
}
