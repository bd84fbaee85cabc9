/// The figures `vhpc topology` reports for a topology and a failure set.
///
/// Structural figures (links, degrees, depth) describe the full topology; `diameter`, `connected` and
/// `unreachable` describe the survivors.
public struct TopologySummary: Sendable, Hashable {
    /// The topology kind.
    public let kind: TopologyKind
    /// Number of ranks.
    public let nodeCount: Int
    /// Number of undirected links.
    public let linkCount: Int
    /// Smallest degree.
    public let minimumDegree: Int
    /// Largest degree.
    public let maximumDegree: Int
    /// Height of the tree (trees only).
    public let depth: Int?
    /// Diameter of the surviving component containing rank 0 (nil if rank 0 failed).
    public let diameter: Diameter?
    /// Failed ranks, ascending.
    public let failedNodes: [Int]
    /// Failed links, ascending.
    public let failedLinks: [Link]
    /// Whether all survivors can still reach one another.
    public let isConnected: Bool
    /// Surviving ranks cut off from rank 0 (all survivors if rank 0 failed), ascending.
    public let unreachable: [Int]

    /// Summarises `graph` (built from `kind`) under `failures`.
    public init(
        kind: TopologyKind,
        graph: Graph,
        failures: FailureSet = .none,
        diameterBudget: Int = SurvivingGraph.defaultDiameterBudget
    ) throws(TopologyError) {
        let surviving = try SurvivingGraph(graph: graph, failures: failures)
        self.kind = kind
        nodeCount = graph.nodeCount
        linkCount = graph.linkCount
        minimumDegree = graph.minimumDegree
        maximumDegree = graph.maximumDegree
        depth = kind.bootTree(nodeCount: graph.nodeCount)?.height
        diameter = surviving.diameter(ofComponentContaining: 0, budget: diameterBudget)
        failedNodes = failures.sortedNodes
        failedLinks = failures.sortedLinks
        isConnected = surviving.isConnected
        unreachable = surviving.unreachable(from: 0)
    }

    /// Builds the graph of `kind` over `nodeCount` ranks and summarises it under `failures`.
    public init(kind: TopologyKind, nodeCount: Int, failures: FailureSet = .none) throws(TopologyError) {
        try self.init(kind: kind, graph: try kind.makeGraph(nodeCount: nodeCount), failures: failures)
    }
}
