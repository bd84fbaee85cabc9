import Topology
import Wire

/// What a simulated staging round moves and what the nodes' disks and cores do with it (the network is the
/// ``BootstrapModel``'s).
public struct StagingModel: Sendable, Hashable {
    /// The file's size in bytes.
    public var size: UInt64
    /// Bytes per chunk (a multiple of 64). Larger than `vhpc run`'s 1 MiB so that the event count stays
    /// tractable at 100,000 nodes; a chunk is also the pipelining step (a node forwards a chunk once it has
    /// it whole), so larger chunks fill the tree's pipeline more slowly (``StagingSimulation/bound(nodes:fanout:model:staging:)``).
    public var chunkSize: Int
    /// SHA-256 throughput of a node's core (every receiver checks every chunk); `.infinity`: free.
    public var hashRate: Double
    /// Each node's disk throughput for writes (and reads back); `.infinity`: free.
    public var diskBandwidth: Double
    /// Chunks in flight per child (the staging window, as `vhpc run` sets it).
    public var window: Int

    public init(size: UInt64 = 1 << 30, chunkSize: Int = 64 << 20, hashRate: Double = .infinity, diskBandwidth: Double = .infinity,
                window: Int = 8) {
        self.size = size
        self.chunkSize = max(ChunkChain.blockSize, chunkSize / ChunkChain.blockSize * ChunkChain.blockSize)
        self.hashRate = hashRate
        self.diskBandwidth = diskBandwidth
        self.window = window
    }

    /// SHA-256 throughput of this machine's core (bytes per second of thread CPU), over `bytes` bytes.
    public static func measuredHashRate(bytes: Int = 64 << 20) -> Double {
        let data = [UInt8](repeating: 0x5A, count: bytes / ChunkChain.blockSize * ChunkChain.blockSize)
        let before = SimulatedCluster.threadCPUTime()
        let absorbed = data.withUnsafeBytes { ChunkChain().absorbing($0)?.chain.position ?? 0 }
        let spent = SimulatedCluster.threadCPUTime() - before
        return Double(absorbed) / max(spent / .seconds(1), 1e-9)
    }
}

/// Scale simulation of file staging (never used by `vhpc run`): the real ``StagingMachine`` inside each node's
/// ``AgentMachine`` on a ``SimulatedCluster``, bootstrapped, then a file staged from the controller down the
/// tree (``SimulatedStaging``: chunks scaled, links, disks and hashing modelled).
public enum StagingSimulation {
    /// How a simulated staging round went.
    public struct Outcome: Sendable {
        /// Virtual time until wired (bootstrap), then from the controller's start of staging until every node
        /// had the file committed, and until the controller had every node's report.
        public var wired: Duration?
        public var staged: Duration?
        public var reported: Duration?
        /// Height of the boot tree (hops from the controller to the deepest node).
        public var treeHeight: Int
        /// Nodes that committed the file; nodes whose machine holds every byte; reports that were failures.
        public var committed: Int
        public var complete: Int
        public var failed: [String]
        /// Frames and bytes (chunks at their modelled size) each node's agent received while staging.
        public var received: SimulatedTraffic
        /// Events the simulation processed while staging.
        public var events: Int
        /// Chunks of the file.
        public var chunks: Int
        /// Agents that exited.
        public var exits: [String]
    }

    /// Bootstraps `nodes` agents on a `fanout`-ary tree, then stages a file of `staging.size` bytes to them all.
    public static func run(nodes: Int, fanout: Int, model: BootstrapModel, cpu: BootstrapCPU, staging: StagingModel) throws -> Outcome {
        var cluster = try SimulatedCluster(nodes: nodes, fanout: fanout, model: model, cpu: cpu, stagingWindow: staging.window)
        cluster.run(goal: .wired)
        let file = SimulatedStaging(
            size: staging.size, chunkSize: staging.chunkSize, hashRate: staging.hashRate, diskBandwidth: staging.diskBandwidth,
            ranks: cluster.rankCount)
        let chunks = file.offer.chunkCount
        guard let wired = cluster.wired else {
            return Outcome(wired: nil, treeHeight: cluster.tree.height, committed: 0, complete: 0, failed: [], received: .init(), events: 0, chunks: chunks, exits: cluster.exits)
        }
        cluster.staging = file
        let framesBefore = cluster.framesIn
        let bytesBefore = cluster.bytesIn
        let eventsBefore = cluster.events
        cluster.schedule(.event(.stage(file.offer)), at: 0, time: wired)
        cluster.run(goal: .staged)
        let result = cluster.staging!
        let nodesOnly = Array(1..<cluster.rankCount)
        let committed = nodesOnly.compactMap { result.committed[$0] }
        let complete = nodesOnly.filter { cluster.machine($0)?.staging.received(file.offer.transferID) == file.offer.size }.count
        let failed = result.reports.filter { $0.value.outcome == .failed }.keys.sorted().map { "node \($0)" }
        return Outcome(
            wired: wired, staged: committed.count == nodes ? committed.max().map { $0 - wired } : nil,
            reported: result.reports.count == nodes ? result.reports.values.map(\.at).max().map { $0 - wired } : nil,
            treeHeight: cluster.tree.height,
            committed: committed.count, complete: complete, failed: failed,
            received: SimulatedCluster.traffic(
                frames: zip(cluster.framesIn, framesBefore).map { $0 - $1 }, bytes: zip(cluster.bytesIn, bytesBefore).map { $0 - $1 },
                ranks: nodesOnly),
            events: cluster.events - eventsBefore, chunks: chunks, exits: cluster.exits)
    }

    /// The pipelined tree's lower bound on staging time: a node at depth d has the first chunk after d
    /// store-and-forward hops, then sends the whole file to each of its k children through its one interface,
    /// the last byte a link latency away; the bound is the largest over the tree's nodes of
    /// d × (chunk / bandwidth + latency) + size × k / bandwidth + latency. On a full k-ary tree that is a node
    /// at depth height − 1: (height − 1) × (chunk / bandwidth + latency) + size × k / bandwidth + latency.
    /// Disks, hashing, acknowledgements and CPU only add to it.
    public static func bound(nodes: Int, fanout: Int, model: BootstrapModel, staging: StagingModel) throws -> Duration {
        let tree = try BootTree(kind: .tree(arity: fanout), nodeCount: nodes + 1)
        let chunk = Duration.seconds(Double(min(UInt64(staging.chunkSize), staging.size)) / model.bandwidth)
        let file = Duration.seconds(Double(staging.size) / model.bandwidth)
        var bound = Duration.zero
        for rank in 0..<tree.nodeCount {
            let children = tree.children(of: rank).count
            guard children > 0 else { continue }
            bound = max(bound, (chunk + model.linkLatency) * tree.depth(of: rank) + file * children + model.linkLatency)
        }
        return bound
    }
}
