import Testing
import Topology

@Suite struct RoutingTableTests {
    /// For every surviving pair, checks a table's next hop against reference distances, then forwards hop by
    /// hop through each agent's own table.
    static func checkAllPairs(kind: TopologyKind, nodeCount n: Int, failures: FailureSet) throws {
        let graph = try kind.makeGraph(nodeCount: n)
        let surviving = try SurvivingGraph(graph: graph, failures: failures)
        let adjacency = TestSupport.adjacency(graph)
        let tables = (0..<n).map { surviving.routingTable(from: $0) }
        let distanceTo = (0..<n).map {
            TestSupport.distances(adjacency, from: $0, failed: failures.nodes, failedLinks: failures.links)
        }
        for source in 0..<n where !failures.nodes.contains(source) {
            let table = tables[source]
            for destination in 0..<n {
                let distance = distanceTo[destination][source]
                let hop = table.nextHop(to: destination)
                if destination == source || distance < 0 {
                    #expect(hop == nil, "\(kind) n=\(n) \(source)→\(destination)")
                    #expect(table.isReachable(destination) == (destination == source))
                    continue
                }
                // The hop is the lowest-ranked usable neighbour one step closer.
                let expected = adjacency[source].first {
                    failures.allowsHop(from: source, to: $0) && distanceTo[destination][$0] == distance - 1
                }
                #expect(hop == expected, "\(kind) n=\(n) \(source)→\(destination)")
                // Forwarding reaches the destination in exactly `distance` hops over survivors.
                var current = source
                var hops = 0
                while current != destination, hops <= n, let next = tables[current].nextHop(to: destination) {
                    #expect(surviving.isLinkUsable(current, next))
                    current = next
                    hops += 1
                }
                #expect(current == destination && hops == distance, "\(kind) n=\(n) \(source)→\(destination)")
            }
        }
    }

    @Test(arguments: [TopologyKind.binomialGraph, .tree(arity: 2), .tree(arity: 3), .binomialTree, .ring, .mesh])
    func routesAreShortestDeterministicAndAvoidFailures(kind: TopologyKind) throws {
        var generator = SplitMix64(seed: 99)
        for n in [1, 2, 3, 8, 13, 64, 97] {
            try Self.checkAllPairs(kind: kind, nodeCount: n, failures: .none)
            let graph = try kind.makeGraph(nodeCount: n)
            for fraction in [10, 4] {
                let failures = TestSupport.randomFailures(graph: graph, count: n / fraction, linkCount: n / fraction, generator: &generator)
                try Self.checkAllPairs(kind: kind, nodeCount: n, failures: failures)
            }
        }
    }

    @Test func sameFailuresGiveSameTablesWhateverTheOrder() throws {
        let graph = try BinomialGraph(nodeCount: 500).graph()
        let forward = FailureSet(nodes: [3, 77, 250, 499], links: [Link(0, 1), Link(10, 12)])
        let backward = FailureSet(nodes: [499, 250, 77, 3], links: [Link(12, 10), Link(1, 0)])
        for source in [0, 1, 42, 498] {
            let a = try RoutingTable(graph: graph, failures: forward, source: source)
            let b = try RoutingTable(graph: graph, failures: backward, source: source)
            #expect(a == b)
        }
    }

    @Test func tableOfFailedSourceRoutesNowhere() throws {
        let graph = try BinomialGraph(nodeCount: 50).graph()
        let table = try RoutingTable(graph: graph, failures: FailureSet(nodes: [7]), source: 7)
        #expect(table.reachableCount == 0)
        #expect((0..<50).allSatisfy { table.nextHop(to: $0) == nil && !table.isReachable($0) })
    }

    @Test func storesOneBytePerDestinationForSmallDegrees() throws {
        let bmg = try RoutingTable(graph: try BinomialGraph(nodeCount: 10_000).graph(), source: 0)
        #expect(bmg.memoryFootprint < 10_000 + 4 * 64)
        let mesh = try RoutingTable(graph: Graph.mesh(nodeCount: 300), source: 0)
        #expect(mesh.memoryFootprint >= 300 * 4)
        #expect((1..<300).allSatisfy { mesh.nextHop(to: $0) == $0 })
    }

    @Test func largeBinomialGraphReachesAllSurvivorsAfterOnePercentFailures() throws {
        let n = 20_000
        let graph = try BinomialGraph(nodeCount: n).graph()
        var generator = SplitMix64(seed: 1)
        let failures = try FailureSet.random(count: n / 100, nodeCount: n, using: &generator)
        let surviving = try SurvivingGraph(graph: graph, failures: failures)
        let table = surviving.routingTable(from: 0)
        #expect(table.reachableCount == n - n / 100)
        for destination in stride(from: 1, to: n, by: 97) where !failures.hasFailed(node: destination) {
            let hop = try #require(table.nextHop(to: destination))
            #expect(surviving.isLinkUsable(0, hop))
        }
    }

    @Test func rejectsSourceOutOfRange() {
        #expect(throws: TopologyError.rankOutOfRange(rank: 5, nodeCount: 5)) {
            try RoutingTable(graph: Graph.ring(nodeCount: 5), source: 5)
        }
    }
}
