import Control
import Foundation
import HostProcess
import TextReport

/// `vhpc bench detect-load`: false agent failures on a saturated machine. Runs jobs whose every task spins on
/// the CPU (so agents and the front-end get a small share of the cores) with a short heartbeat, once with the
/// fixed-timeout detector (`VHPC_DETECTOR=fixed`) and once with the default one that backs off under load
/// (local health and suspicion, see `HeartbeatDetector`); every agent failure reported is false (nothing is
/// killed).
public struct DetectLoadBenchmark: Sendable {
    public var jobs: Int
    public var nodes: Int
    public var heartbeat: String
    public var seconds: Int

    public init(jobs: Int, nodes: Int, heartbeat: String, seconds: Int) {
        self.jobs = jobs
        self.nodes = nodes
        self.heartbeat = heartbeat
        self.seconds = seconds
    }

    public func run() async throws {
        let vhpc = ExecutableLookup.currentExecutable()
        let spin = "end=$(( $(date +%s) + \(seconds) )); while [ $(date +%s) -lt $end ]; do :; done"
        var rows = [["DETECTOR", "JOBS", "JOBS WITH FALSE FAILURES", "FALSE FAILURES", "NODES", "HEARTBEAT", "CORES"]]
        for mode in ["fixed", "adaptive"] {
            var failedJobs = 0
            var failures = 0
            for _ in 0..<jobs {
                var environment = ProcessInfo.processInfo.environment
                environment["VHPC_DETECTOR"] = mode
                let text = try HostCommand(vhpc, ["run", "-N", "\(nodes)", "--heartbeat", heartbeat, "--", "sh", "-c", spin],
                                           environment: environment).runAllowingFailure().stderrText
                let count = text.split(separator: "\n").filter { $0.contains(" failed (") }.count
                failures += count
                if count > 0 { failedJobs += 1 }
            }
            rows.append([mode, "\(jobs)", "\(failedJobs)", "\(failures)", "\(nodes)", heartbeat, "\(ProcessInfo.processInfo.activeProcessorCount)"])
        }
        print(TextTable.render(rows), terminator: "")
    }
}
