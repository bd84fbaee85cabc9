/// Table-free routing on a binomial graph: forward to the usable neighbour closest to the destination
/// around the ring.
///
/// Following Angskun, Bosilca and Dongarra (ISPA 2007), an agent needs no routing table: each hop picks,
/// among i ± 2^j, the neighbour with the smallest ring distance min(d, n − d) to the destination (ties go to
/// the lowest rank). Without failures every hop at least halves the remaining ring distance, so a route
/// takes at most ⌈log2 n⌉ hops. Failed ranks and links are skipped; a hop must strictly shrink the ring
/// distance, so greedy routes never loop, but they can get stuck — then fall back to a ``RoutingTable``.
public struct GreedyBMGRouting: Sendable, Hashable {
    /// The binomial graph routed over.
    public let graph: BinomialGraph

    /// Greedy routing over `graph`.
    public init(graph: BinomialGraph) {
        self.graph = graph
    }

    /// Greedy routing over a binomial graph of `nodeCount` ranks.
    public init(nodeCount: Int) throws(TopologyError) {
        self.init(graph: try BinomialGraph(nodeCount: nodeCount))
    }

    /// Hops around the ring between `a` and `b`, the shorter way.
    public func ringDistance(_ a: Int, _ b: Int) -> Int {
        let clockwise = (b - a + graph.nodeCount) % graph.nodeCount
        return min(clockwise, graph.nodeCount - clockwise)
    }

    /// The greedy next hop from `source` to `destination` without failures; nil when they are equal.
    public func nextHop(from source: Int, to destination: Int) -> Int? {
        nextHop(from: source, to: destination) { _, _ in true }
    }

    /// The greedy next hop avoiding `failures`; nil when `source == destination` or no usable neighbour is
    /// closer to the destination (stuck).
    public func nextHop(from source: Int, to destination: Int, avoiding failures: FailureSet) -> Int? {
        if failures.isEmpty { return nextHop(from: source, to: destination) }
        return nextHop(from: source, to: destination) { failures.allowsHop(from: $0, to: $1) }
    }

    /// The greedy next hop over the hops `isUsable(from, to)` allows; nil when `source == destination` or stuck.
    public func nextHop(from source: Int, to destination: Int, isUsable: (Int, Int) -> Bool) -> Int? {
        let n = graph.nodeCount
        var bestDistance = ringDistance(source, destination)
        guard bestDistance > 0 else { return nil }
        var best = -1
        for offset in graph.offsets {
            var candidate = source + offset
            if candidate >= n { candidate -= n }
            let remaining = ringDistance(candidate, destination)
            guard remaining < bestDistance || (remaining == bestDistance && best >= 0 && candidate < best)
            else { continue }
            guard isUsable(source, candidate) else { continue }
            best = candidate
            bestDistance = remaining
        }
        return best >= 0 ? best : nil
    }

    /// The whole greedy route from `source` to `destination` (both included), or nil if it gets stuck.
    public func route(from source: Int, to destination: Int, avoiding failures: FailureSet = .none) -> [Int]? {
        var path = [source]
        var current = source
        while current != destination {
            guard let next = nextHop(from: current, to: destination, avoiding: failures) else { return nil }
            path.append(next)
            current = next
        }
        return path
    }
}
