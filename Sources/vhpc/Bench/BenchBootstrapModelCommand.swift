import ArgumentParser
import Control
import Foundation

/// `vhpc bench bootstrap-model`: the bootstrap of N agents on a modelled cluster of N nodes (one agent and one
/// core per node), run by the real protocol state machines with their CPU measured on this machine
/// (``BootstrapSimulation``). `vhpc bench bootstrap` measures real processes, but on one host, where N agents
/// share its cores.
struct BenchBootstrapModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bootstrap-model",
        abstract: "Bootstrap time on a modelled cluster (scale simulation of the real agent state machines).",
        discussion: """
            Every agent runs on a node of its own. Events on a node run one at a time and take the CPU this \
            machine spends in the agent's state machine and in encoding and decoding its frames, plus the \
            model's costs below; messages take the link latency plus size over bandwidth. WIRED is the \
            virtual time until the controller has every agent up and BMG-wired; LATENCY ONLY is the same \
            with every CPU cost zero (the protocol's critical path alone). RECEIVED/AGENT counts the frames \
            and bytes (headers and MACs included) each node's agent read during bootstrap: mean and largest; \
            the controller, which collects the whole address table, is shown apart. Points of 10,000 agents \
            or more run once (one run of 100,000 agents takes tens of seconds); smaller ones --repeat times.
            """)

    @Option(help: "Agent counts.") var sizes: [Int] = [16, 64, 256, 1024, 4096]
    @Option(help: "Boot tree fanouts to compare.") var fanout: [Int] = [4]
    @Option(name: .customLong("latency-us"), help: "One-way link latency, microseconds.") var latencyMicroseconds: Double = 25
    @Option(name: .customLong("bandwidth-gbit"), help: "Link bandwidth, Gbit/s.") var bandwidthGigabits: Double = 10
    @Option(name: .customLong("spawn-ms"), help: "From a parent starting a child agent until it runs, milliseconds.")
    var spawnMilliseconds: Double = 10
    @Option(name: .customLong("spawn-cpu-us"), help: "Parent CPU per child started, microseconds.") var spawnCPUMicroseconds: Double = 200
    @Option(name: .customLong("frame-cpu-us"), help: "CPU per frame sent or received outside the codec (system call, MAC), microseconds.")
    var frameCPUMicroseconds: Double = 5
    @Option(name: .customLong("repeat"), help: "Repetitions per point (median reported).") var repetitions: Int = 3
    @Option(name: .customLong("baseline"), help: "N that the ratio column divides by.") var baseline: Int = 1024
    @Flag(name: .customLong("no-latency-only"), help: "Skip the LATENCY ONLY run (halves the time at large N).") var noLatencyOnly = false
    @Option(name: .customLong("host-cores"), help: "Model one host: every agent shares this many cores (default: a core per node).")
    var hostCores: Int?
    @Option(name: .customLong("agents-per-process"), help: "Agents per process, packed as vhpc run packs them (default 1).")
    var agentsPerProcess: Int = 1

    func validate() throws {
        guard sizes.allSatisfy({ $0 >= 1 }), fanout.allSatisfy({ $0 >= 1 }) else { throw ValidationError("--sizes and --fanout must be at least 1") }
        guard repetitions >= 1 else { throw ValidationError("--repeat must be at least 1") }
        guard hostCores.map({ $0 >= 1 }) ?? true, agentsPerProcess >= 1 else { throw ValidationError("--host-cores and --agents-per-process must be at least 1") }
        guard latencyMicroseconds >= 0, bandwidthGigabits > 0, spawnMilliseconds >= 0, spawnCPUMicroseconds >= 0, frameCPUMicroseconds >= 0 else {
            throw ValidationError("model latencies and costs must not be negative, bandwidth must be positive")
        }
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

    func run() throws {
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
                var runs: [BootstrapSimulation.Outcome] = []
                let count = size >= 10_000 ? 1 : repetitions
                for _ in 0..<count {
                    let outcome = try BootstrapSimulation.run(nodes: size, fanout: k, model: model, cpu: .measured)
                    guard outcome.wired != nil, outcome.notRunning.isEmpty else {
                        throw ValidationError("N=\(size) fanout \(k): bootstrap did not complete: \(outcome.exits.prefix(3).joined(separator: "; "))")
                    }
                    runs.append(outcome)
                }
                runs.sort { $0.wired! < $1.wired! }
                let median = runs[runs.count / 2]
                var latencyOnly = BootstrapModel.latencyOnly(link: model.linkLatency, spawn: model.spawnLatency)
                latencyOnly.agentsPerProcess = model.agentsPerProcess
                let critical = noLatencyOnly ? nil : try BootstrapSimulation.run(nodes: size, fanout: k, model: latencyOnly, cpu: .fixed(perEvent: .zero))
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
