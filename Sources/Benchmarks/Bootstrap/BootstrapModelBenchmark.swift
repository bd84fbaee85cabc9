import Control
import Foundation
import TextReport

/// `vhpc bench bootstrap-model`: the bootstrap of N agents on a modelled cluster of N nodes (one agent and one
/// core per node), run by the real protocol state machines with their CPU measured on this machine
/// (``BootstrapSimulation``). `vhpc bench bootstrap` measures real processes, but on one host, where N agents
/// share its cores.
public struct BootstrapModelBenchmark: Sendable {
    public var sizes: [Int]
    public var fanout: [Int]
    public var latencyMicroseconds: Double
    public var bandwidthGigabits: Double
    public var spawnMilliseconds: Double
    public var spawnCPUMicroseconds: Double
    public var frameCPUMicroseconds: Double
    public var repetitions: Int
    public var baseline: Int
    public var noLatencyOnly: Bool
    public var hostCores: Int?
    public var agentsPerProcess: Int

    public init(sizes: [Int], fanout: [Int], latencyMicroseconds: Double, bandwidthGigabits: Double, spawnMilliseconds: Double, spawnCPUMicroseconds: Double, frameCPUMicroseconds: Double, repetitions: Int, baseline: Int, noLatencyOnly: Bool, hostCores: Int?, agentsPerProcess: Int) {
        self.sizes = sizes
        self.fanout = fanout
        self.latencyMicroseconds = latencyMicroseconds
        self.bandwidthGigabits = bandwidthGigabits
        self.spawnMilliseconds = spawnMilliseconds
        self.spawnCPUMicroseconds = spawnCPUMicroseconds
        self.frameCPUMicroseconds = frameCPUMicroseconds
        self.repetitions = repetitions
        self.baseline = baseline
        self.noLatencyOnly = noLatencyOnly
        self.hostCores = hostCores
        self.agentsPerProcess = agentsPerProcess
    }

    var model: BootstrapModel {
        var model = BootstrapModel(
            linkLatency: .nanoseconds(Int64(latencyMicroseconds * 1000)), bandwidth: bandwidthGigabits * 1e9 / 8,
            spawnLatency: .nanoseconds(Int64(spawnMilliseconds * 1e6)), spawnCPU: .nanoseconds(Int64(spawnCPUMicroseconds * 1000)),
            frameCPU: .nanoseconds(Int64(frameCPUMicroseconds * 1000)))
        model.hostCores = hostCores
        model.agentsPerProcess = agentsPerProcess
        return model
    }

    public func run() throws {
        #if DEBUG
        print("warning: debug build; the measured CPU is only meaningful with `swift build -c release`\n")
        #endif
        print(String(format: "Model: link %.0f us one-way, %.0f Gbit/s; agent spawn %.1f ms (+%.0f us parent CPU each); %.0f us CPU per frame besides the codec",
                     latencyMicroseconds, bandwidthGigabits, spawnMilliseconds, spawnCPUMicroseconds, frameCPUMicroseconds))
        var rows = [["N", "FANOUT", "RUNS", "TREE HEIGHT", "WIRED (median)", "T(N)/T(\(baseline))", "LATENCY ONLY",
                     "RECEIVED/AGENT mean (max)", "BYTES/AGENT mean (max)", "CONTROLLER RECEIVED", "BUSIEST NODE CPU", "CPU/AGENT"]]
        for k in fanout {
            var baselineTime: Duration?
            for size in sizes {
                let count = size >= 10_000 ? 1 : repetitions
                var latencyOnly = BootstrapModel.latencyOnly(link: model.linkLatency, spawn: model.spawnLatency)
                latencyOnly.agentsPerProcess = model.agentsPerProcess
                // The measured runs and the latency-only one side by side (``Scenarios``: each event's CPU is its
                // own thread's, so running them together changes no figure, only the wall time).
                let parts = try Scenarios.run(noLatencyOnly ? [false] : [false, true]) { twin in
                    twin
                        ? [try BootstrapSimulation.run(nodes: size, fanout: k, model: latencyOnly, cpu: .fixed(perEvent: .zero))]
                        : try (0..<count).map { _ in try BootstrapSimulation.run(nodes: size, fanout: k, model: model, cpu: .measured) }
                }
                var runs = parts[0]
                for outcome in runs {
                    guard outcome.wired != nil, outcome.notRunning.isEmpty else {
                        throw BenchmarkError("N=\(size) fanout \(k): bootstrap did not complete: \(outcome.exits.prefix(3).joined(separator: "; "))")
                    }
                }
                runs.sort { $0.wired! < $1.wired! }
                let median = runs[runs.count / 2]
                let critical = parts.count > 1 ? parts[1][0] : nil
                if size == baseline { baselineTime = median.wired }
                let ratio = baselineTime.map { String(format: "%.2f", median.wired! / $0) } ?? "-"
                let received = median.received
                rows.append([
                    "\(size)", "\(k)", "\(count)", "\(median.treeHeight)", benchSeconds(median.wired, decimals: 4), ratio,
                    benchSeconds(critical?.wired, decimals: 4, missing: "-"),
                    String(format: "%.1f (%d)", received.meanFrames, received.maxFrames),
                    "\(benchBytes(Int(received.meanBytes))) (\(benchBytes(received.maxBytes)))",
                    "\(median.controllerFrames) frames, \(benchBytes(median.controllerBytes))",
                    benchSeconds(median.busiestNodeCPU, decimals: 4),
                    String(format: "%.0f us", (median.totalCPU / (size + 1)).seconds * 1e6),
                ])
            }
        }
        print(TextTable.render(rows), terminator: "")
        print("""
            Scale simulation, not a run: the protocol code and its CPU are real (this machine's), the cluster \
            is modelled. Measured runs on this host: vhpc bench bootstrap.
            """)
    }
}
