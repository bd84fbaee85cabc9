import Control
import Foundation
import TextReport

/// `vhpc bench detect-model`: failure detection and rerouting on a modelled cluster of N nodes, run by the
/// real agent state machines (``DetectionSimulation``); `vhpc bench detect` measures real processes on this
/// host.
public struct DetectModelBenchmark: Sendable {
    public var sizes: [Int]
    public var fanout: Int
    public var fraction: Double
    public var heartbeatMilliseconds: Int
    public var latencyMicroseconds: Double
    public var seed: UInt64
    public var noReroute: Bool

    public init(sizes: [Int], fanout: Int, fraction: Double, heartbeatMilliseconds: Int, latencyMicroseconds: Double, seed: UInt64, noReroute: Bool) {
        self.sizes = sizes
        self.fanout = fanout
        self.fraction = fraction
        self.heartbeatMilliseconds = heartbeatMilliseconds
        self.latencyMicroseconds = latencyMicroseconds
        self.seed = seed
        self.noReroute = noReroute
    }

    public func run() throws {
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
            let started = ContinuousClock.now
            let userBefore = StageModelBenchmark.usage().user
            let faults = DetectionSimulation.Fault.allCases
            let patterns = DetectionSimulation.Pattern.allCases
            // One bootstrap; detection and rerouting then run side by side on copies of the wired cluster.
            let (outcomes, rerouted) = try DetectionSimulation.run(
                nodes: size, fanout: fanout, model: model, cpu: .measured, faults: faults, fraction: fraction, period: period, seed: seed,
                patterns: noReroute ? [] : patterns)
            let usage = StageModelBenchmark.usage()
            print(String(format: "N=%d simulated: %.1f s wall, %.1f s user CPU (all threads), peak RSS %@", size,
                         (ContinuousClock.now - started).seconds, usage.user - userBefore, benchBytes(usage.maxRSS)))
            // The simulator's critical path: on a quiet host its wall time (each stage's thread CPU, so other load
            // does not inflate it as it does the wall time above).
            let stages = zip(faults, outcomes).map { String(format: "%@ %.1f s", $0.rawValue, $1.simulation.run.seconds) }
                + zip(patterns, rerouted).map { String(format: "rerouting (%@) %.1f s", $0.rawValue, $1.simulation.run.seconds) }
            if let first = outcomes.first {
                let longest = (outcomes.map(\.simulation.total) + rerouted.map(\.simulation.total)).max() ?? .zero
                print(String(format: "N=%d simulator thread CPU: bootstrap %.1f s, steady state %.1f s, then side by side: %@; longest path %.1f s",
                             size, first.simulation.bootstrap.seconds, first.simulation.steadyState.seconds, stages.joined(separator: ", "),
                             longest.seconds))
            }
            for (fault, outcome) in zip(faults, outcomes) {
                guard outcome.wired != nil else {
                    throw BenchmarkError("N=\(size): bootstrap did not complete: \(outcome.exits.prefix(3).joined(separator: "; "))")
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
                for line in outcome.undeclared { print("  not declared: \(line)") }
            }
            guard !noReroute else { continue }
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
