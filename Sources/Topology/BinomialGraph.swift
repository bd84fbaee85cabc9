/// A binomial graph (BMG) over ranks `0..<nodeCount`: rank i is linked to i ± 2^j mod n for every
/// 2^j < n, duplicate links merged.
///
/// From Angskun, Bosilca and Dongarra, "Binomial graph: a scalable and fault-tolerant logical network
/// topology" (ISPA 2007). It is a circulant graph, so every rank has the same degree (at most
/// 2⌈log2 n⌉), every rank sees the same distances, the diameter is at most ⌈log2 n⌉, and the graph stays
/// connected after any (degree − 1) ranks fail.
public struct BinomialGraph: Sendable, Hashable {
    /// Number of ranks.
    public let nodeCount: Int
    /// The distinct clockwise offsets d in `1..<n` such that i is linked to i + d mod n, ascending.
    public let offsets: [Int]

    /// A binomial graph; throws for a node count < 1.
    public init(nodeCount: Int) throws(TopologyError) {
        try Graph.validate(nodeCount: nodeCount)
        self.nodeCount = nodeCount
        var offsets = Set<Int>()
        var step = 1
        while step < nodeCount {
            offsets.insert(step)
            offsets.insert(nodeCount - step)
            step <<= 1
        }
        self.offsets = offsets.sorted()
    }

    /// Links per rank (the same for every rank).
    public var degree: Int { offsets.count }

    /// The neighbours of `rank`, ascending.
    public func neighbors(of rank: Int) -> [Int] {
        offsets.map { (rank + $0) % nodeCount }.sorted()
    }

    /// The powers of two 2^j < n that define the links.
    public var jumps: [Int] {
        var result: [Int] = []
        var step = 1
        while step < nodeCount {
            result.append(step)
            step <<= 1
        }
        return result
    }

    /// The graph. Built directly: with ascending offsets, a rank's wrapped neighbours (below it) followed by
    /// its unwrapped ones (above it) are already sorted, so no per-rank sort is needed.
    public func graph() -> Graph {
        let n = nodeCount
        let degree = offsets.count
        let jumps = offsets.map { Int32($0) }
        var rowStarts = [Int32](repeating: 0, count: n + 1)
        var targets = [Int32](repeating: 0, count: n * degree)
        targets.withUnsafeMutableBufferPointer { targets in
            var position = 0
            var split = degree  // offsets[split...] wrap around for the current rank
            for rank in 0..<n {
                while split > 0, rank + Int(jumps[split - 1]) >= n { split -= 1 }
                let base = Int32(rank)
                for index in split..<degree {
                    targets[position] = base + jumps[index] - Int32(n)
                    position += 1
                }
                for index in 0..<split {
                    targets[position] = base + jumps[index]
                    position += 1
                }
                rowStarts[rank + 1] = Int32(position)
            }
        }
        return Graph(nodeCount: n, offsets: rowStarts, targets: targets)
    }
}
