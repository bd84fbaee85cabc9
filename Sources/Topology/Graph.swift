/// An undirected graph over ranks `0..<nodeCount`, stored compactly as CSR adjacency arrays.
///
/// The neighbours of rank r are `targets[offsets[r] ..< offsets[r + 1]]`, sorted ascending, without
/// duplicates or self-links; every link appears once in each direction. A 100,000-node binomial graph
/// takes about 14 MB.
public struct Graph: Sendable, Hashable {
    /// The largest graph that fits 32-bit rank storage.
    public static let maximumNodeCount = Int(Int32.max) - 1

    /// Number of ranks.
    public let nodeCount: Int
    /// `nodeCount + 1` start positions into ``targets``.
    public let offsets: [Int32]
    /// Concatenated, sorted neighbour lists.
    public let targets: [Int32]

    /// Builds a graph from undirected links; duplicates are merged and self-links dropped.
    public init(nodeCount: Int, links: some Sequence<Link>) throws(TopologyError) {
        try Self.validate(nodeCount: nodeCount)
        var pairs: [(Int32, Int32)] = []
        for link in links {
            guard link.lower >= 0 else { throw .rankOutOfRange(rank: link.lower, nodeCount: nodeCount) }
            guard link.upper < nodeCount else { throw .rankOutOfRange(rank: link.upper, nodeCount: nodeCount) }
            pairs.append((Int32(link.lower), Int32(link.upper)))
        }
        self = Self(nodeCount: nodeCount, validatedPairs: pairs)
    }

    /// Builds a graph from undirected rank pairs already known to lie in `0..<nodeCount`.
    init(nodeCount: Int, validatedPairs pairs: [(Int32, Int32)]) {
        var counts = [Int32](repeating: 0, count: nodeCount + 1)
        for (a, b) in pairs where a != b {
            counts[Int(a) + 1] += 1
            counts[Int(b) + 1] += 1
        }
        for r in 0..<nodeCount { counts[r + 1] += counts[r] }
        var cursor = counts
        var raw = [Int32](repeating: 0, count: Int(counts[nodeCount]))
        for (a, b) in pairs where a != b {
            raw[Int(cursor[Int(a)])] = b
            cursor[Int(a)] += 1
            raw[Int(cursor[Int(b)])] = a
            cursor[Int(b)] += 1
        }
        self = Self(nodeCount: nodeCount) { rank, list in
            list.append(contentsOf: raw[Int(counts[rank])..<Int(counts[rank + 1])])
        }
    }

    /// Wraps CSR arrays the caller has already sorted, deduplicated and made symmetric.
    init(nodeCount: Int, offsets: [Int32], targets: [Int32]) {
        self.nodeCount = nodeCount
        self.offsets = offsets
        self.targets = targets
    }

    /// Builds a graph from a function that lists each rank's neighbours (any order, duplicates and the
    /// rank itself allowed). The caller guarantees symmetry: b is listed for a exactly when a is for b.
    init(nodeCount: Int, neighbors listNeighbors: (Int, inout [Int32]) -> Void) {
        var offsets = [Int32](repeating: 0, count: nodeCount + 1)
        var targets: [Int32] = []
        var scratch: [Int32] = []
        for rank in 0..<nodeCount {
            scratch.removeAll(keepingCapacity: true)
            listNeighbors(rank, &scratch)
            scratch.sort()
            var previous: Int32 = -1
            for neighbor in scratch where neighbor != previous && Int(neighbor) != rank {
                targets.append(neighbor)
                previous = neighbor
            }
            offsets[rank + 1] = Int32(targets.count)
        }
        self.nodeCount = nodeCount
        self.offsets = offsets
        self.targets = targets
    }

    /// Throws unless `nodeCount` is in `1...maximumNodeCount`.
    static func validate(nodeCount: Int) throws(TopologyError) {
        guard nodeCount >= 1 else { throw .invalidNodeCount(nodeCount) }
        guard nodeCount <= maximumNodeCount else {
            throw .nodeCountTooLarge(nodeCount: nodeCount, limit: maximumNodeCount)
        }
    }

    /// A ring: rank i linked to i ± 1 mod n.
    public static func ring(nodeCount: Int) -> Graph {
        Graph(nodeCount: nodeCount) { rank, list in
            guard nodeCount > 1 else { return }
            list.append(Int32((rank + 1) % nodeCount))
            list.append(Int32((rank + nodeCount - 1) % nodeCount))
        }
    }

    /// A full mesh: every rank linked to every other.
    public static func mesh(nodeCount: Int) -> Graph {
        Graph(nodeCount: nodeCount) { _, list in
            list.append(contentsOf: 0..<Int32(nodeCount))
        }
    }

    /// The sorted neighbours of `rank`.
    @inlinable
    public func neighbors(of rank: Int) -> ArraySlice<Int32> {
        targets[Int(offsets[rank])..<Int(offsets[rank + 1])]
    }

    /// Number of links at `rank`.
    @inlinable
    public func degree(of rank: Int) -> Int {
        Int(offsets[rank + 1] - offsets[rank])
    }

    /// Number of undirected links.
    public var linkCount: Int { targets.count / 2 }

    /// Smallest degree over all ranks.
    public var minimumDegree: Int { (0..<nodeCount).map(degree(of:)).min() ?? 0 }

    /// Largest degree over all ranks.
    public var maximumDegree: Int { (0..<nodeCount).map(degree(of:)).max() ?? 0 }

    /// Position of `neighbor` in the CSR storage of `rank`'s list, or nil if they are not linked.
    public func slot(of neighbor: Int, at rank: Int) -> Int? {
        var low = Int(offsets[rank])
        var high = Int(offsets[rank + 1])
        let wanted = Int32(truncatingIfNeeded: neighbor)
        while low < high {
            let middle = (low + high) / 2
            if targets[middle] < wanted { low = middle + 1 } else { high = middle }
        }
        return low < Int(offsets[rank + 1]) && targets[low] == wanted ? low : nil
    }

    /// Whether ranks `a` and `b` are linked.
    public func hasLink(_ a: Int, _ b: Int) -> Bool {
        guard (0..<nodeCount).contains(a), (0..<nodeCount).contains(b) else { return false }
        return slot(of: b, at: a) != nil
    }

    /// Every undirected link once, sorted.
    public var links: [Link] {
        var result: [Link] = []
        result.reserveCapacity(linkCount)
        for rank in 0..<nodeCount {
            for neighbor in neighbors(of: rank) where Int(neighbor) > rank {
                result.append(Link(rank, Int(neighbor)))
            }
        }
        return result
    }

    /// The graph with the links of both `self` and `other` (same node count).
    public func union(_ other: Graph) -> Graph {
        precondition(other.nodeCount == nodeCount, "union of graphs with different node counts")
        return Graph(nodeCount: nodeCount) { rank, list in
            list.append(contentsOf: neighbors(of: rank))
            list.append(contentsOf: other.neighbors(of: rank))
        }
    }

    /// Bytes held by the adjacency arrays.
    public var memoryFootprint: Int {
        (offsets.count + targets.count) * MemoryLayout<Int32>.stride
    }
}
