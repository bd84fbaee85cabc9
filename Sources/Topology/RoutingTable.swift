/// One agent's next hop toward every rank, over the survivors of a graph.
///
/// Routes are shortest paths; among equally short ones the next hop is the lowest-ranked neighbour, so every
/// agent holding the same failure set computes the same routes, and forwarding hop by hop never loops (each
/// hop is one step closer). Storage is one byte per destination when the source has fewer than 255
/// neighbours (an index into its neighbour list), four bytes otherwise.
public struct RoutingTable: Sendable, Hashable {
    /// The agent whose table this is.
    public let source: Int
    /// Number of ranks.
    public let nodeCount: Int
    /// The source's neighbours in the full graph, ascending; next hops are positions in this list.
    public let neighbors: [Int32]
    /// Number of ranks reachable from the source (itself included; 0 if it failed).
    public let reachableCount: Int
    private let storage: Storage

    private enum Storage: Sendable, Hashable {
        /// Neighbour positions; `UInt8.max` means no route.
        case narrow([UInt8])
        /// Neighbour positions; −1 means no route.
        case wide([Int32])
    }

    /// The table of `source` over `surviving` (one breadth-first search).
    public init(surviving: SurvivingGraph, source: Int) {
        let (distance, firstHop) = surviving.breadthFirst(from: source, trackFirstHop: true)
        self.source = source
        nodeCount = surviving.nodeCount
        neighbors = Array(surviving.graph.neighbors(of: source))
        reachableCount = distance.reduce(0) { $0 + ($1 >= 0 ? 1 : 0) }
        if neighbors.count < Int(UInt8.max) {
            storage = .narrow(firstHop.map { $0 < 0 ? UInt8.max : UInt8(truncatingIfNeeded: $0) })
        } else {
            storage = .wide(firstHop)
        }
    }

    /// The table of `source` over `graph` minus `failures`.
    public init(graph: Graph, failures: FailureSet = .none, source: Int) throws(TopologyError) {
        guard (0..<graph.nodeCount).contains(source) else {
            throw .rankOutOfRange(rank: source, nodeCount: graph.nodeCount)
        }
        self.init(surviving: try SurvivingGraph(graph: graph, failures: failures), source: source)
    }

    /// The neighbour to forward to for `destination`; nil for the source itself or an unreachable rank.
    public func nextHop(to destination: Int) -> Int? {
        let position: Int
        switch storage {
        case .narrow(let hops):
            let hop = hops[destination]
            guard hop != UInt8.max else { return nil }
            position = Int(hop)
        case .wide(let hops):
            let hop = hops[destination]
            guard hop >= 0 else { return nil }
            position = Int(hop)
        }
        return Int(neighbors[position])
    }

    /// Whether `destination` can be reached from the source (the source reaches itself unless it failed).
    public func isReachable(_ destination: Int) -> Bool {
        destination == source ? reachableCount > 0 : nextHop(to: destination) != nil
    }

    /// Bytes of routing state this table keeps (per-destination entries plus the neighbour list).
    public var memoryFootprint: Int {
        let entries: Int
        switch storage {
        case .narrow(let hops): entries = hops.count * MemoryLayout<UInt8>.stride
        case .wide(let hops): entries = hops.count * MemoryLayout<Int32>.stride
        }
        return entries + neighbors.count * MemoryLayout<Int32>.stride
    }
}
