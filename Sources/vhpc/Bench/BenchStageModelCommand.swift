import ArgumentParser
import Control
import Foundation
import VSE

/// `vhpc bench stage-model`: staging a file to N nodes on a modelled cluster, run by the real agent and staging
/// state machines (``StagingSimulation``), beside the pipelined tree's bound; `vhpc bench stage` measures real
/// staging on this host.
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
        #if DEBUG
        print("warning: debug build; the measured CPU is only meaningful with `swift build -c release`\n")
        #endif
        guard let fileSize = SizeParser.parseBytes(size), fileSize > 0 else { throw CLIErrors.fail("--size: cannot read '\(size)' (e.g. 1G, 256M)") }
        guard let chunkSize = SizeParser.parseBytes(chunk), chunkSize >= 64, chunkSize % 64 == 0 else {
            throw CLIErrors.fail("--chunk: '\(chunk)' is not a size that is a multiple of 64 bytes (e.g. 64M)")
        }
        var model = BootstrapModel()
        model.linkLatency = .nanoseconds(Int64(latencyMicroseconds * 1000))
        model.bandwidth = bandwidthGigabits * 1e9 / 8
        let hashRate = StagingModel.measuredHashRate()
        let staging = StagingModel(size: fileSize, chunkSize: Int(chunkSize), hashRate: hashRate, diskBandwidth: diskGigabits * 1e9 / 8)
        var realChunks = staging
        realChunks.chunkSize = StagePlan.defaultChunkSize
        print(String(format: "Model: %@ file in %@ chunks; link %.0f us one-way, %.0f Gbit/s per interface; disk %.0f Gbit/s; SHA-256 %.2f GB/s (this machine)",
                     benchBytes(Int(fileSize)), benchBytes(staging.chunkSize), latencyMicroseconds, bandwidthGigabits, diskGigabits, hashRate / 1e9))
        var rows = [["N", "FANOUT", "HEIGHT", "CHUNKS", "WIRED", "STAGED", "REPORTED", "BOUND", "STAGED/BOUND", "BOUND AT 1 MiB",
                     "RECEIVED/AGENT mean (max)", "BYTES/AGENT mean (max)", "EVENTS", "SIMULATION wall, user CPU, peak RSS"]]
        for nodes in sizes {
            let clock = ContinuousClock()
            let start = clock.now
            let userBefore = Self.usage().user
            let outcome = try StagingSimulation.run(nodes: nodes, fanout: fanout, model: model, cpu: .measured, staging: staging)
            let wall = clock.now - start
            let usage = Self.usage()
            guard outcome.wired != nil else {
                throw ValidationError("N=\(nodes): bootstrap did not complete: \(outcome.exits.prefix(3).joined(separator: "; "))")
            }
            guard let staged = outcome.staged, outcome.failed.isEmpty else {
                throw ValidationError("N=\(nodes): \(outcome.committed) of \(nodes) nodes committed the file; failed: \(outcome.failed.prefix(3).joined(separator: ", "))")
            }
            let bound = try StagingSimulation.bound(nodes: nodes, fanout: fanout, model: model, staging: staging)
            let boundReal = try StagingSimulation.bound(nodes: nodes, fanout: fanout, model: model, staging: realChunks)
            let received = outcome.received
            rows.append([
                "\(nodes)", "\(fanout)", "\(outcome.treeHeight)", "\(outcome.chunks)",
                benchSeconds(outcome.wired, decimals: 3), benchSeconds(staged, decimals: 3), benchSeconds(outcome.reported, decimals: 3),
                benchSeconds(bound, decimals: 3), String(format: "%.2f", staged / bound), benchSeconds(boundReal, decimals: 3),
                String(format: "%.1f (%d)", received.meanFrames, received.maxFrames),
                "\(benchBytes(Int(received.meanBytes))) (\(benchBytes(received.maxBytes)))",
                "\(outcome.events)",
                String(format: "%.1f s, %.1f s, %@", wall.seconds, usage.user - userBefore, benchBytes(usage.maxRSS)),
            ])
            print(TextTable.render([rows[0], rows.last!]), terminator: "")
        }
        print("")
        print(TextTable.render(rows), terminator: "")
        print("""
            Scale simulation, not a run: the protocol code and its CPU are real (this machine's), the cluster \
            is modelled and each chunk's bytes are a stand-in. Measured staging on this host: vhpc bench stage.
            """)
    }

    /// This process's user CPU seconds and peak resident set size in bytes.
    static func usage() -> (user: Double, maxRSS: Int) {
        var own = rusage()
        getrusage(RUSAGE_SELF.rawValue, &own)
        return (Double(own.ru_utime.tv_sec) + Double(own.ru_utime.tv_usec) / 1e6, own.ru_maxrss * 1024)
    }
}
