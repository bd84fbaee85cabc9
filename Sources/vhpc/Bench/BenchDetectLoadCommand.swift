import ArgumentParser
import Control
import Foundation
import HostProcess

/// `vhpc bench detect-load`: false agent failures on a saturated machine. Runs jobs whose every task spins on
/// the CPU (so agents and the front-end get a small share of the cores) with a short heartbeat, once with the
/// fixed-timeout detector (`VHPC_DETECTOR=fixed`) and once with the default one that backs off under load
/// (local health and suspicion, see `HeartbeatDetector`); every agent failure reported is false (nothing is
/// killed).
struct BenchDetectLoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "detect-load", abstract: "False agent failures under CPU saturation.")

    @Option(help: "Jobs per detector.") var jobs: Int = 5
    @Option(help: "Nodes (and spinning tasks) per job.") var nodes: Int = 32
    @Option(help: "Heartbeat period.") var heartbeat: String = "200ms"
    @Option(help: "Seconds each task spins.") var seconds: Int = 4

    func run() async throws {
        let vhpc = ExecutableLookup.currentExecutable()
        let spin = "end=$(( $(date +%s) + \(seconds) )); while [ $(date +%s) -lt $end ]; do :; done"
        var rows = [["DETECTOR", "JOBS", "JOBS WITH FALSE FAILURES", "FALSE FAILURES", "NODES", "HEARTBEAT", "CORES"]]
        for mode in ["fixed", "adaptive"] {
            var failedJobs = 0
            var failures = 0
            for _ in 0..<jobs {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: vhpc)
                process.arguments = ["run", "-N", "\(nodes)", "--heartbeat", heartbeat, "--", "sh", "-c", spin]
                var environment = ProcessInfo.processInfo.environment
                environment["VHPC_DETECTOR"] = mode
                process.environment = environment
                let err = Pipe()
                process.standardError = err
                process.standardOutput = FileHandle.nullDevice
                process.standardInput = FileHandle.nullDevice
                try process.run()
                let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                process.waitUntilExit()
                let count = text.split(separator: "\n").filter { $0.contains(" failed (") }.count
                failures += count
                if count > 0 { failedJobs += 1 }
            }
            rows.append([mode, "\(jobs)", "\(failedJobs)", "\(failures)", "\(nodes)", heartbeat, "\(ProcessInfo.processInfo.activeProcessorCount)"])
        }
        print(TextTable.render(rows), terminator: "")
    }
}
