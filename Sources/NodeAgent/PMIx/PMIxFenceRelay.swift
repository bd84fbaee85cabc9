import Control

/// A PMIx server's fences over vhpc's tree, sans I/O. When every local client entered a fence, the library
/// hands the host the node's contribution (one blob); it goes up as the node's PMI fence, cut into entries
/// under ``key`` of at most ``chunkBytes`` each, so one fence of any size crosses the tree in frames of
/// bounded size. The controller concatenates every node's entries (``PMIFenceTracker``) and floods them
/// down; the release that carries ``key`` entries completes the library's fence with all the nodes' blobs
/// concatenated, which is what its modex callback expects.
///
/// An agent process may host several vhpc nodes (packed local jobs) that share one PMIx server: the blob
/// goes up from the first of them, the others send an empty contribution, and the first release of an
/// epoch to reach any of them completes the fence.
public struct PMIxFenceRelay: Sendable, Hashable {
    /// Key of the entries that carry PMIx contributions (PMI-1 keys never start with a NUL).
    public static let key = "\u{0}pmix"
    /// Largest piece of a contribution in one entry.
    public static let chunkBytes = 256 * 1024

    /// Agent ranks (vhpc nodes with tasks) the server serves.
    public let agents: [Int]
    private var nextEpoch = 0
    private var waiting: [Int: UInt] = [:]
    private var lossSent = false

    public init(agents: [Int]) {
        self.agents = agents.sorted()
    }

    /// One agent's fence to send up.
    public struct Contribution: Sendable, Hashable {
        public var agent: Int
        public var epoch: Int
        public var entries: [PMIEntry]
    }

    /// The library's fence upcall: `data` is the node's blob, `handle` completes it.
    public mutating func entered(data: [UInt8], handle: UInt) -> [Contribution] {
        let epoch = nextEpoch
        nextEpoch += 1
        waiting[epoch] = handle
        return agents.enumerated().map { index, agent in
            Contribution(agent: agent, epoch: epoch, entries: index == 0 ? Self.entries(data) : [PMIEntry(key: Self.key, bytes: [])])
        }
    }

    /// A release of fence `epoch`: the handle to complete and every node's data, the first time an epoch
    /// this server waits for is released; nil otherwise.
    public mutating func released(epoch: Int, entries: [PMIEntry]) -> (handle: UInt, data: [UInt8])? {
        guard let handle = waiting.removeValue(forKey: epoch) else { return nil }
        var data: [UInt8] = []
        data.reserveCapacity(entries.reduce(0) { $0 + ($1.key == Self.key ? $1.bytes.count : 0) })
        for entry in entries where entry.key == Self.key { data += entry.bytes }
        return (handle, data)
    }

    /// Why the job's fences can never complete (``PMIFenceLoss``): every fence fails.
    public private(set) var loss: PMIFenceLoss?

    /// A release carrying a ``PMIFenceLoss`` reached the node: the handles of every waiting fence, to fail
    /// (later fences fail at once: see ``loss``).
    public mutating func lose(_ lost: PMIFenceLoss) -> [UInt] {
        guard loss == nil else { return [] }
        loss = lost
        defer { waiting.removeAll() }
        return pending
    }

    /// A local task left without ending its session: the fence that tells the job, from this server's first
    /// node (once; nil once the job knows).
    public mutating func lossContribution(_ lost: PMIFenceLoss) -> Contribution? {
        guard loss == nil, !lossSent, let agent = agents.first else { return nil }
        lossSent = true
        return Contribution(agent: agent, epoch: nextEpoch, entries: [lost.entry])
    }

    /// Fences waiting for their release (their handles), e.g. to fail them when the job ends.
    public var pending: [UInt] { waiting.keys.sorted().map { waiting[$0]! } }

    /// Whether a release carries PMIx contributions (rather than PMI-1 puts).
    public static func carriesPMIx(_ entries: [PMIEntry]) -> Bool {
        entries.contains { $0.key == key }
    }

    /// A blob as entries of at most ``chunkBytes`` (one empty entry for no data).
    static func entries(_ data: [UInt8]) -> [PMIEntry] {
        guard !data.isEmpty else { return [PMIEntry(key: key, bytes: [])] }
        return stride(from: 0, to: data.count, by: chunkBytes).map {
            PMIEntry(key: key, bytes: Array(data[$0..<min(data.count, $0 + chunkBytes)]))
        }
    }
}
