/// A complete k-ary tree over ranks `0..<nodeCount`, filled level by level, rooted at rank 0.
///
/// The parent of rank r > 0 is (r − 1) / k and its children are k·r + 1 … k·r + k. Binary (k = 2) is the
/// paper's boot topology; k = 1 is a chain.
public struct KAryTree: Sendable, Hashable {
    /// Children per inner rank.
    public let arity: Int
    /// Number of ranks.
    public let nodeCount: Int

    /// A k-ary tree; throws for k < 1 or a node count < 1.
    public init(arity: Int, nodeCount: Int) throws(TopologyError) {
        guard arity >= 1 else { throw .invalidArity(arity) }
        try Graph.validate(nodeCount: nodeCount)
        self.arity = arity
        self.nodeCount = nodeCount
    }

    /// The parent of `rank`, or nil for the root.
    public func parent(of rank: Int) -> Int? {
        rank == 0 ? nil : (rank - 1) / arity
    }

    /// The children of `rank`, in ascending order.
    public func children(of rank: Int) -> Range<Int> {
        let (first, overflow) = rank.multipliedReportingOverflow(by: arity)
        guard !overflow, first < nodeCount - 1 else { return nodeCount..<nodeCount }
        return (first + 1)..<min(first + arity + 1, nodeCount)
    }

    /// Number of links between `rank` and the root.
    public func depth(of rank: Int) -> Int {
        if arity == 1 { return rank }
        var depth = 0
        var current = rank
        while current > 0 {
            current = (current - 1) / arity
            depth += 1
        }
        return depth
    }

    /// Largest depth of any rank (the last rank is on the deepest level).
    public var height: Int { depth(of: nodeCount - 1) }

    /// The tree as a graph.
    public func graph() -> Graph {
        Graph(nodeCount: nodeCount) { rank, list in
            if let parent = parent(of: rank) { list.append(Int32(parent)) }
            for child in children(of: rank) { list.append(Int32(child)) }
        }
    }
}
