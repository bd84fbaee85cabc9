import ArgumentParser
import Benchmarks

/// `vhpc bench`'s options for ``BootstrapModelBenchmark`` (which runs the benchmark and prints its figures).
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
    @Flag(name: .customLong("no-latency-only"), help: "Skip the LATENCY ONLY run (it runs beside the measured one, on a thread of its own; skipping it halves the CPU at large N).") var noLatencyOnly = false
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

    func run() throws {
        SimulatorHeap.useHugePages()
        print(SimulatorHeap.note)
        try BootstrapModelBenchmark(
            sizes: sizes, fanout: fanout, latencyMicroseconds: latencyMicroseconds,
            bandwidthGigabits: bandwidthGigabits, spawnMilliseconds: spawnMilliseconds,
            spawnCPUMicroseconds: spawnCPUMicroseconds, frameCPUMicroseconds: frameCPUMicroseconds,
            repetitions: repetitions, baseline: baseline, noLatencyOnly: noLatencyOnly, hostCores: hostCores,
            agentsPerProcess: agentsPerProcess
        ).run()
    }
}
