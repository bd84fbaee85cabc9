/// A binomial tree over ranks `0..<nodeCount`, rooted at rank 0.
///
/// The parent of rank r > 0 is r with its lowest set bit cleared; the children of r are r + 2^j for every
/// 2^j below r's lowest set bit (every 2^j for the root) with r + 2^j < nodeCount. A broadcast down it takes
/// ⌈log2 n⌉ rounds.
public struct BinomialTree: Sendable, Hashable {
    /// Number of ranks.
    public let nodeCount: Int

    /// A binomial tree; throws for a node count < 1.
    public init(nodeCount: Int) throws(TopologyError) {
        try Graph.validate(nodeCount: nodeCount)
        self.nodeCount = nodeCount
    }

    /// The parent of `rank`, or nil for the root.
    public func parent(of rank: Int) -> Int? {
        rank == 0 ? nil : rank & (rank - 1)
    }

    /// The children of `rank`, in ascending order.
    public func children(of rank: Int) -> [Int] {
        let limit = rank == 0 ? Int.max : rank & -rank
        var result: [Int] = []
        var step = 1
        while step < limit, rank + step < nodeCount {
            result.append(rank + step)
            step <<= 1
        }
        return result
    }

    /// Number of links between `rank` and the root (its number of set bits).
    public func depth(of rank: Int) -> Int { rank.nonzeroBitCount }

    /// Largest depth of any rank.
    public var height: Int {
        // No rank below n has more set bits than 2^⌊log2 n⌋ − 1, which is below n: the height is ⌊log2 n⌋.
        Int.bitWidth - 1 - nodeCount.leadingZeroBitCount
    }

    /// The tree as a graph.
    public func graph() -> Graph {
        Graph(nodeCount: nodeCount) { rank, list in
            if let parent = parent(of: rank) { list.append(Int32(parent)) }
            for child in children(of: rank) { list.append(Int32(child)) }
        }
    }
}
