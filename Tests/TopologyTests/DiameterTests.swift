import Testing
import Topology

@Suite struct DiameterTests {
    /// Reference: the largest finite distance between ranks of the component holding `rank`.
    static func referenceDiameter(_ adjacency: [[Int]], containing rank: Int, failures: FailureSet) -> Int {
        let component = TestSupport.distances(adjacency, from: rank, failed: failures.nodes, failedLinks: failures.links)
        return component.indices.filter { component[$0] >= 0 }.map {
            TestSupport.distances(adjacency, from: $0, failed: failures.nodes, failedLinks: failures.links).max()!
        }.max()!
    }

    @Test(arguments: [TopologyKind.binomialGraph, .tree(arity: 2), .binomialTree, .ring, .mesh, .tree(arity: 1)])
    func exactDiameterMatchesReference(kind: TopologyKind) throws {
        var generator = SplitMix64(seed: 8)
        for n in [1, 2, 3, 10, 33, 80] {
            let graph = try kind.makeGraph(nodeCount: n)
            let adjacency = TestSupport.adjacency(graph)
            for failedCount in [0, n / 8, n / 3] {
                var failures = TestSupport.randomFailures(graph: graph, count: failedCount, linkCount: failedCount / 2, generator: &generator)
                var keep = failures.nodes
                keep.remove(0)
                failures = FailureSet(nodes: keep, links: failures.links)
                let surviving = try SurvivingGraph(graph: graph, failures: failures)
                let expected = Self.referenceDiameter(adjacency, containing: 0, failures: failures)
                #expect(surviving.diameter(ofComponentContaining: 0) == Diameter(exactly: expected), "\(kind) n=\(n) failed=\(failures.sortedNodes)")
                // With no budget for all-pairs, bounds must still contain the truth.
                let bounded = try #require(surviving.diameter(ofComponentContaining: 0, budget: 0))
                #expect(bounded.lowerBound <= expected && expected <= bounded.upperBound, "\(kind) n=\(n)")
            }
        }
    }

    @Test func failedRankHasNoDiameter() throws {
        let surviving = try SurvivingGraph(graph: Graph.ring(nodeCount: 5), failures: FailureSet(nodes: [0]))
        #expect(surviving.diameter(ofComponentContaining: 0) == nil)
        #expect(surviving.eccentricity(of: 0) == nil)
    }
}
