import ArgumentParser
import Benchmarks

/// `vhpc bench`'s options for ``StageModelBenchmark`` (which runs the benchmark and prints its figures).
struct BenchStageModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stage-model",
        abstract: "File staging over the boot tree on a modelled cluster (scale simulation of the real state machines).",
        discussion: """
            Per N: bootstrap, then the controller stages a file of --size to every node down the --fanout-ary \
            tree, as vhpc run --stage does (window of 8 chunks per child, each chunk checked by its SHA-256 \
            chain, written, committed). Each node sends through one interface of --bandwidth-gbit (a node \
            feeding k children sends each chunk k times), writes to a disk of --disk-gbit and checks each \
            chunk at this machine's SHA-256 rate (measured at start). The machines move a stand-in of 64 \
            bytes per chunk that the cluster charges as --chunk bytes: chunks of 64 MiB instead of vhpc run's \
            1 MiB keep 100,000 nodes to millions of events, but a node forwards a chunk only once it has it \
            whole, so larger chunks fill the pipeline more slowly. STAGED is the virtual time from the start \
            of staging until every node had the file committed, REPORTED until the controller had every \
            node's report; BOUND is the pipelined tree's lower bound, (height - 1) x (chunk / bandwidth + \
            latency) + size x k / bandwidth + latency, and BOUND AT 1 MiB the same with vhpc run's chunks. \
            SIMULATION is this process's wall time, user CPU and peak RSS for the point.
            """)

    @Option(help: "Node counts.") var sizes: [Int] = [1024, 4096]
    @Option(help: "Boot tree fanout.") var fanout: Int = 4
    @Option(help: "File size (e.g. 1G, 256M).") var size: String = "1G"
    @Option(help: "Modelled chunk size (e.g. 64M, 8M; a multiple of 64 bytes).") var chunk: String = "64M"
    @Option(name: .customLong("latency-us"), help: "One-way link latency, microseconds.") var latencyMicroseconds: Double = 25
    @Option(name: .customLong("bandwidth-gbit"), help: "Link (interface) bandwidth, Gbit/s.") var bandwidthGigabits: Double = 10
    @Option(name: .customLong("disk-gbit"), help: "Each node's disk throughput, Gbit/s (16: 2 GB/s).") var diskGigabits: Double = 16

    func validate() throws {
        guard sizes.allSatisfy({ $0 >= 1 }), fanout >= 1 else { throw ValidationError("--sizes and --fanout must be at least 1") }
        guard latencyMicroseconds >= 0, bandwidthGigabits > 0, diskGigabits > 0 else {
            throw ValidationError("--latency-us must not be negative, --bandwidth-gbit and --disk-gbit must be positive")
        }
    }

    func run() throws {
        SimulatorHeap.useHugePages()
        print(SimulatorHeap.note)
        try StageModelBenchmark(
            sizes: sizes, fanout: fanout, size: size, chunk: chunk, latencyMicroseconds: latencyMicroseconds,
            bandwidthGigabits: bandwidthGigabits, diskGigabits: diskGigabits
        ).run()
    }
}
