/// One agent's router from local knowledge only: O(log N) state, no table over the whole job.
///
/// It knows its boot-tree parent and children, its binomial-graph neighbours (i ± 2^j, from the graph's
/// offsets), which of those neighbours or links failed, and which of its tree ancestors failed (their
/// children pass that down the tree). A message goes along the tree while this agent's tree hop is usable
/// and, for messages up to the controller, none of its ancestors failed; otherwise it takes the greedy
/// binomial-graph hop (``GreedyBMGRouting``: the usable neighbour closest to the destination around the
/// ring, each hop strictly closer). Toward the controller this never loops: greedy hops shrink the ring
/// distance, and once an agent with every ancestor alive takes the tree, every later hop is an ancestor of
/// it whose ancestors are alive too.
public struct LocalRouter: Sendable {
    /// The agent's own rank.
    public let rank: Int
    /// The boot tree.
    public let tree: BootTree
    /// The binomial graph's offsets (O(log N)).
    public let binomial: BinomialGraph
    /// Neighbours known to have failed.
    public private(set) var failedPeers: Set<Int> = []
    /// Links known to be cut (the peer may be alive).
    public private(set) var cutLinks: Set<Int> = []
    /// Tree ancestors known to have failed.
    public private(set) var failedAncestors: Set<Int> = []

    /// A router for `rank` on `tree` plus its binomial graph.
    public init(rank: Int, tree: BootTree) throws(TopologyError) {
        guard (0..<tree.nodeCount).contains(rank) else {
            throw .rankOutOfRange(rank: rank, nodeCount: tree.nodeCount)
        }
        self.rank = rank
        self.tree = tree
        self.binomial = try BinomialGraph(nodeCount: tree.nodeCount)
    }

    /// Tree parent and children plus binomial-graph neighbours, ascending: the links the agent wires.
    public func neighbors() -> [Int] {
        var neighbours = Set(binomial.offsets.map { (rank + $0) % tree.nodeCount })
        neighbours.formUnion(tree.children(of: rank))
        if let parent = tree.parent(of: rank) { neighbours.insert(parent) }
        neighbours.remove(rank)
        return neighbours.sorted()
    }

    /// Whether `peer` is a tree or binomial-graph neighbour.
    public func isNeighbor(_ peer: Int) -> Bool {
        guard peer != rank, (0..<tree.nodeCount).contains(peer) else { return false }
        if tree.parent(of: rank) == peer || tree.parent(of: peer) == rank { return true }
        let n = tree.nodeCount
        return Self.isPowerOfTwo((peer - rank + n) % n) || Self.isPowerOfTwo((rank - peer + n) % n)
    }

    /// Which end of the link to `peer` dials it (and dials it again when it drops): the child on a tree link;
    /// on a binomial-graph link the end from which the peer lies 2^j clockwise, the lower rank when both
    /// directions are powers of two. Exactly one end of every link answers true.
    public func dials(_ peer: Int) -> Bool {
        if tree.parent(of: rank) == peer { return true }
        if tree.parent(of: peer) == rank { return false }
        let n = tree.nodeCount
        let clockwise = Self.isPowerOfTwo((peer - rank + n) % n)
        let counter = Self.isPowerOfTwo((rank - peer + n) % n)
        return clockwise && counter ? rank < peer : clockwise
    }

    static func isPowerOfTwo(_ value: Int) -> Bool { value > 0 && value & (value - 1) == 0 }

    /// Records a failed rank: a neighbour, an ancestor, or neither (then nothing changes). Returns whether
    /// it changed this router's routes.
    @discardableResult
    public mutating func markFailed(node failed: Int) -> Bool {
        var changed = false
        if isNeighbor(failed) { changed = failedPeers.insert(failed).inserted || changed }
        if failed != rank, tree.isInSubtree(rank, of: failed) { changed = failedAncestors.insert(failed).inserted || changed }
        return changed
    }

    /// Records that the link to `peer` is cut.
    public mutating func markCut(link peer: Int) { cutLinks.insert(peer) }

    /// Records that the link to `peer` is back.
    public mutating func markRestored(link peer: Int) { cutLinks.remove(peer) }

    /// Whether the link to neighbour `peer` may carry a message.
    public func isUsable(_ peer: Int) -> Bool {
        !failedPeers.contains(peer) && !cutLinks.contains(peer)
    }

    /// The next hop toward `destination` over the links `linked` allows (every link when nil); nil for the
    /// agent itself or when no usable hop gets closer.
    public func nextHop(to destination: Int, linked: Set<Int>? = nil) -> Int? {
        guard destination != rank, (0..<tree.nodeCount).contains(destination) else { return nil }
        let usable = { (peer: Int) in isUsable(peer) && (linked?.contains(peer) ?? true) }
        if isNeighbor(destination), usable(destination) { return destination }
        if failedAncestors.isEmpty, let hop = tree.nextHop(from: rank, to: destination), usable(hop) { return hop }
        return GreedyBMGRouting(graph: binomial).nextHop(from: rank, to: destination) { _, candidate in usable(candidate) }
    }

    /// The next hop toward `destination` over the binomial graph alone: the usable (and, with `linked`, linked)
    /// neighbour closest to it around the ring, strictly closer than this agent, so a message so routed never
    /// loops; nil when stuck. For messages down to an agent whose tree ancestor failed: the tree's way down
    /// passes that ancestor, and agents that do not know it failed send the message back up toward it.
    public func ringHop(to destination: Int, linked: Set<Int>? = nil) -> Int? {
        guard destination != rank, (0..<tree.nodeCount).contains(destination) else { return nil }
        return GreedyBMGRouting(graph: binomial).nextHop(from: rank, to: destination) { _, candidate in
            isUsable(candidate) && (linked?.contains(candidate) ?? true)
        }
    }

    /// A second way toward `destination` besides the hop `primary`: the usable (and, with `linked`, linked)
    /// binomial-graph neighbour closest to it around the ring, strictly closer than this agent, neither in this
    /// agent's own subtree (whose way up comes back through it) nor one of its ancestors (whose way up is the
    /// end of the first one) unless it is `destination` itself; nil when there is none. From there the message
    /// goes on as that agent routes it, up another branch of the tree: a hop hung on the first way (not yet
    /// known failed) does not hold it too.
    public func alternateHop(to destination: Int, besides primary: Int?, linked: Set<Int>? = nil) -> Int? {
        guard destination != rank, (0..<tree.nodeCount).contains(destination) else { return nil }
        return GreedyBMGRouting(graph: binomial).nextHop(from: rank, to: destination) { _, candidate in
            guard candidate != primary, isUsable(candidate), linked?.contains(candidate) ?? true else { return false }
            if candidate == destination { return true }
            return !tree.isInSubtree(candidate, of: rank) && !tree.isInSubtree(rank, of: candidate)
        }
    }

    /// Whether some usable hop over `linked` leads toward `destination`.
    public func canReach(_ destination: Int, linked: Set<Int>? = nil) -> Bool {
        destination == rank || nextHop(to: destination, linked: linked) != nil
    }
}
