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
    /// The graph used once the tree path is broken, if given or already needed. The default one (tree plus
    /// binomial graph) is built on the first failure: until then an agent needs only its own neighbours,
    /// and building the whole graph per agent was a third of an agent's bootstrap CPU at 4,096 agents
    /// (`vhpc bench bootstrap-model`).
    private var builtGraph: Graph?
    /// The binomial graph over the tree's ranks (its offsets only).
    private let binomial: BinomialGraph
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
        precondition(fallbackGraph.map { $0.nodeCount == tree.nodeCount } ?? true, "fallback graph and tree differ in size")
        self.rank = rank
        self.tree = tree
        self.builtGraph = fallbackGraph
        self.binomial = try BinomialGraph(nodeCount: tree.nodeCount)
        self.failures = .none
        try update(failures: failures)
    }

    /// The graph used once the tree path is broken (built now if it has not been yet).
    public var fallbackGraph: Graph {
        builtGraph ?? (tree.graph().union(binomial.graph()))
    }

    /// This agent's neighbours in the fallback graph, ascending: the links it wires.
    public func fallbackNeighbors() -> [Int] {
        if let builtGraph { return builtGraph.neighbors(of: rank).map(Int.init) }
        var neighbours = Set(binomial.neighbors(of: rank))
        neighbours.formUnion(tree.children(of: rank))
        if let parent = tree.parent(of: rank) { neighbours.insert(parent) }
        neighbours.remove(rank)
        return neighbours.sorted()
    }

    /// The boot tree's links plus the binomial graph's: what agents wire and route over.
    public static func defaultFallbackGraph(for tree: BootTree) throws(TopologyError) -> Graph {
        tree.graph().union(try BinomialGraph(nodeCount: tree.nodeCount).graph())
    }

    /// Replaces the failure set and recomputes the fallback table.
    public mutating func update(failures newFailures: FailureSet) throws(TopologyError) {
        if newFailures.isEmpty {
            fallbackTable = nil
        } else {
            let graph = fallbackGraph
            builtGraph = graph
            fallbackTable = try RoutingTable(graph: graph, failures: newFailures, source: rank)
        }
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
