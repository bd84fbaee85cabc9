/// The front-end's view of a staging round: which live nodes have finished which files. Pure bookkeeping.
public struct StagingTracker: Sendable {
    /// Transfer ids of the round, with their sizes.
    public let sizes: [UInt64: UInt64]
    /// Nodes (agent ranks) still expected to report.
    public private(set) var nodes: Set<Int>
    public private(set) var reports: [Int: [UInt64: StagingReport]] = [:]

    public init(offers: [StagingOffer], nodes: some Sequence<Int>) {
        sizes = Dictionary(offers.map { ($0.transferID, $0.size) }, uniquingKeysWith: { first, _ in first })
        self.nodes = Set(nodes)
    }

    /// Records a report; false if it is a duplicate (reports are re-sent after failures) or unexpected.
    public mutating func record(_ report: StagingReport) -> Bool {
        guard nodes.contains(report.node), sizes[report.transferID] != nil,
              reports[report.node]?[report.transferID] == nil else { return false }
        reports[report.node, default: [:]][report.transferID] = report
        return true
    }

    /// A node failed: no longer expected.
    public mutating func nodeFailed(_ rank: Int) {
        nodes.remove(rank)
    }

    /// Nodes with every file reported.
    public var nodesDone: Int { nodes.filter { reports[$0]?.count == sizes.count }.count }
    public var isComplete: Bool { nodesDone == nodes.count }
    /// Bytes of one copy of every file.
    public var totalBytes: UInt64 { sizes.values.reduce(0, +) }
    /// Reports of files that were already present.
    public var skipped: Int { reports.values.flatMap(\.values).filter { $0.outcome == .skipped }.count }
    public var failedReports: [StagingReport] {
        reports.values.flatMap(\.values).filter { $0.outcome == .failed }.sorted { $0.node < $1.node }
    }
}

/// A file the front-end stages to every node before the tasks start: the local source and the offer.
public struct StagingFile: Sendable, Hashable {
    public var source: String
    public var offer: StagingOffer

    public init(source: String, offer: StagingOffer) {
        self.source = source
        self.offer = offer
    }
}
