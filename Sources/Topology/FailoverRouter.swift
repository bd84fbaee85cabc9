/// One agent's router: boot-tree routes while the tree path is intact, shortest paths over the surviving
/// fallback graph (by default the tree plus the binomial graph) once a failure cuts the tree path.
///
/// Forwarding never loops when every agent holds the same failure set: fallback hops each get one step
/// closer in the fallback graph, and once an agent finds its tree path intact, every later agent on that
/// path finds its own (shorter) tree path intact too.
public struct FailoverRouter: Sendable {
    /// How a hop was chosen.
    public enum Via: Sendable, Hashable {
        /// Along the boot tree.
        case tree
        /// Along a shortest path over the surviving fallback graph.
        case fallback
    }

    /// The next rank to forward to and how it was chosen.
    public struct Hop: Sendable, Hashable {
        /// The neighbour to forward to.
        public let rank: Int
        /// Whether it is a tree hop or a fallback hop.
        public let via: Via

        /// A hop to `rank` chosen `via` the tree or the fallback.
        public init(rank: Int, via: Via) {
            self.rank = rank
            self.via = via
        }
    }

    /// The agent's own rank.
    public let rank: Int
    /// The boot tree.
    public let tree: BootTree
    /// The graph used once the tree path is broken.
    public let fallbackGraph: Graph
    /// What the router knows has failed.
    public private(set) var failures: FailureSet
    /// The agent's next-hop table over the surviving fallback graph; nil while nothing has failed. The tree
    /// then reaches every rank, and the table (a breadth-first search over the whole graph, per agent: a
    /// tenth of the CPU of a 1,024-agent bootstrap) waits until a failure needs it.
    public private(set) var fallbackTable: RoutingTable?

    /// A router for `rank`; `fallbackGraph` defaults to the tree's links plus the binomial graph's.
    public init(rank: Int, tree: BootTree, fallbackGraph: Graph? = nil, failures: FailureSet = .none) throws(TopologyError) {
        guard (0..<tree.nodeCount).contains(rank) else {
            throw .rankOutOfRange(rank: rank, nodeCount: tree.nodeCount)
        }
        let graph: Graph
        if let fallbackGraph { graph = fallbackGraph } else { graph = try Self.defaultFallbackGraph(for: tree) }
        precondition(graph.nodeCount == tree.nodeCount, "fallback graph and tree differ in size")
        self.rank = rank
        self.tree = tree
        self.fallbackGraph = graph
        self.failures = failures
        self.fallbackTable = failures.isEmpty ? nil : try RoutingTable(graph: graph, failures: failures, source: rank)
    }

    /// The boot tree's links plus the binomial graph's: what agents wire and route over.
    public static func defaultFallbackGraph(for tree: BootTree) throws(TopologyError) -> Graph {
        tree.graph().union(try BinomialGraph(nodeCount: tree.nodeCount).graph())
    }

    /// Replaces the failure set and recomputes the fallback table.
    public mutating func update(failures newFailures: FailureSet) throws(TopologyError) {
        fallbackTable = newFailures.isEmpty ? nil : try RoutingTable(graph: fallbackGraph, failures: newFailures, source: rank)
        failures = newFailures
    }

    /// Marks a rank failed and recomputes routes.
    public mutating func markFailed(node failedRank: Int) throws(TopologyError) {
        var updated = failures
        guard updated.fail(node: failedRank) else { return }
        try update(failures: updated)
    }

    /// Marks a link failed and recomputes routes.
    public mutating func markFailed(link: Link) throws(TopologyError) {
        var updated = failures
        guard updated.fail(link: link) else { return }
        try update(failures: updated)
    }

    /// Marks a failed link usable again and recomputes routes.
    public mutating func markRestored(link: Link) throws(TopologyError) {
        var updated = failures
        guard updated.restore(link: link) else { return }
        try update(failures: updated)
    }

    /// Whether every rank and link on the tree path to `destination` survives.
    public func isTreePathIntact(to destination: Int) -> Bool {
        let path = tree.path(from: rank, to: destination)
        for index in path.indices.dropFirst() where !failures.allowsHop(from: path[index - 1], to: path[index]) {
            return false
        }
        return !failures.hasFailed(node: rank)
    }

    /// The next hop toward `destination`; nil for the agent itself or when no surviving route exists.
    public func nextHop(to destination: Int) -> Hop? {
        guard destination != rank, (0..<tree.nodeCount).contains(destination) else { return nil }
        if isTreePathIntact(to: destination), let next = tree.nextHop(from: rank, to: destination) {
            return Hop(rank: next, via: .tree)
        }
        return fallbackTable?.nextHop(to: destination).map { Hop(rank: $0, via: .fallback) }
    }

    /// Whether `destination` can be reached at all over survivors.
    public func canReach(_ destination: Int) -> Bool {
        guard let fallbackTable else { return (0..<tree.nodeCount).contains(destination) }  // nothing failed
        return fallbackTable.isReachable(destination) || (destination != rank && isTreePathIntact(to: destination))
    }
}
