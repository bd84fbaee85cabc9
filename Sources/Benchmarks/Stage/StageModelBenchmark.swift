import Control
import Foundation
import NodeAgent
import TextReport
import VSE

/// `vhpc bench stage-model`: staging a file to N nodes on a modelled cluster, run by the real agent and staging
/// state machines (``StagingSimulation``), beside the pipelined tree's bound; `vhpc bench stage` measures real
/// staging on this host.
public struct StageModelBenchmark: Sendable {
    public var sizes: [Int]
    public var fanout: Int
    public var size: String
    public var chunk: String
    public var latencyMicroseconds: Double
    public var bandwidthGigabits: Double
    public var diskGigabits: Double

    public init(sizes: [Int], fanout: Int, size: String, chunk: String, latencyMicroseconds: Double, bandwidthGigabits: Double, diskGigabits: Double) {
        self.sizes = sizes
        self.fanout = fanout
        self.size = size
        self.chunk = chunk
        self.latencyMicroseconds = latencyMicroseconds
        self.bandwidthGigabits = bandwidthGigabits
        self.diskGigabits = diskGigabits
    }

    public func run() throws {
        #if DEBUG
        print("warning: debug build; the measured CPU is only meaningful with `swift build -c release`\n")
        #endif
        guard let fileSize = SizeParser.parseBytes(size), fileSize > 0 else { throw BenchmarkError("--size: cannot read '\(size)' (e.g. 1G, 256M)") }
        guard let chunkSize = SizeParser.parseBytes(chunk), chunkSize >= 64, chunkSize % 64 == 0 else {
            throw BenchmarkError("--chunk: '\(chunk)' is not a size that is a multiple of 64 bytes (e.g. 64M)")
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
                throw BenchmarkError("N=\(nodes): bootstrap did not complete: \(outcome.exits.prefix(3).joined(separator: "; "))")
            }
            guard let staged = outcome.staged, outcome.failed.isEmpty else {
                throw BenchmarkError("N=\(nodes): \(outcome.committed) of \(nodes) nodes committed the file; failed: \(outcome.failed.prefix(3).joined(separator: ", "))")
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
