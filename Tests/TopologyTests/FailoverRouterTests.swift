import Testing
import Topology

@Suite struct FailoverRouterTests {
    /// Forwards from `source` to `destination` with each agent's own router; returns the ranks visited.
    static func forward(_ routers: [FailoverRouter], from source: Int, to destination: Int) -> [Int] {
        var path = [source]
        var current = source
        while current != destination, path.count <= routers.count + 1,
              let hop = routers[current].nextHop(to: destination) {
            current = hop.rank
            path.append(current)
        }
        return path
    }

    @Test func followsTheTreeWhileNothingFailed() throws {
        let tree = try BootTree(kind: .tree(arity: 2), nodeCount: 31)
        let routers = try (0..<31).map { try FailoverRouter(rank: $0, tree: tree) }
        for source in 0..<31 {
            for destination in 0..<31 where destination != source {
                #expect(Self.forward(routers, from: source, to: destination) == tree.path(from: source, to: destination))
                #expect(routers[source].nextHop(to: destination)?.via == .tree)
            }
        }
    }

    @Test(arguments: [TopologyKind.tree(arity: 2), .tree(arity: 8), .binomialTree, .tree(arity: 1)], [1, 2, 3, 17, 64, 100])
    func ownNeighboursWithoutTheGraphAreTheDefaultGraphs(kind: TopologyKind, ranks: Int) throws {
        let tree = try BootTree(kind: kind, nodeCount: ranks)
        let graph = try FailoverRouter.defaultFallbackGraph(for: tree)
        for rank in 0..<ranks {
            let router = try FailoverRouter(rank: rank, tree: tree)
            #expect(router.fallbackNeighbors() == graph.neighbors(of: rank).map(Int.init), "rank \(rank) of \(ranks)")
            let given = try FailoverRouter(rank: rank, tree: tree, fallbackGraph: graph)
            #expect(given.fallbackNeighbors() == router.fallbackNeighbors())
        }
    }

    @Test(arguments: [TopologyKind.tree(arity: 2), .tree(arity: 4), .binomialTree, .tree(arity: 1)])
    func reroutesAroundFailuresWithoutLoops(kind: TopologyKind) throws {
        var generator = SplitMix64(seed: 17)
        for n in [2, 9, 40, 100] {
            let tree = try BootTree(kind: kind, nodeCount: n)
            let fallback = tree.graph().union(try BinomialGraph(nodeCount: n).graph())
            let failures = TestSupport.randomFailures(graph: fallback, count: max(1, n / 10), linkCount: n / 10, generator: &generator)
            var routers = try (0..<n).map { try FailoverRouter(rank: $0, tree: tree) }
            for index in routers.indices { try routers[index].update(failures: failures) }
            let adjacency = TestSupport.adjacency(fallback)
            for source in 0..<n where !failures.hasFailed(node: source) {
                let reachable = TestSupport.distances(adjacency, from: source, failed: failures.nodes, failedLinks: failures.links)
                for destination in 0..<n where destination != source && !failures.hasFailed(node: destination) {
                    let path = Self.forward(routers, from: source, to: destination)
                    #expect(Set(path).count == path.count, "\(kind) n=\(n): loop \(path)")
                    #expect(path.allSatisfy { !failures.hasFailed(node: $0) })
                    for index in path.indices.dropFirst() {
                        #expect(failures.allowsHop(from: path[index - 1], to: path[index]))
                        #expect(fallback.hasLink(path[index - 1], path[index]))
                    }
                    let delivered = path.last == destination
                    #expect(delivered == (reachable[destination] >= 0), "\(kind) n=\(n) \(source)→\(destination)")
                    #expect(routers[source].canReach(destination) == delivered)
                }
            }
        }
    }

    @Test func markingFailuresRecomputesTheFallbackTable() throws {
        let tree = try BootTree(kind: .tree(arity: 2), nodeCount: 15)
        var router = try FailoverRouter(rank: 3, tree: tree)
        #expect(router.nextHop(to: 0) == .init(rank: 1, via: .tree))
        try router.markFailed(node: 1)
        let hop = try #require(router.nextHop(to: 0))
        #expect(hop.via == .fallback && hop.rank != 1)
        try router.markFailed(link: Link(3, 7))
        #expect(router.nextHop(to: 7)?.via == .fallback)
        #expect(router.nextHop(to: 8) == .init(rank: 8, via: .tree))
    }
}
