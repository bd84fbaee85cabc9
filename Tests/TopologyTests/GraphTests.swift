import Testing
import Topology

@Suite struct GraphTests {
    @Test func buildsSymmetricSortedDeduplicatedAdjacency() throws {
        let links = [Link(0, 1), Link(1, 0), Link(2, 1), Link(3, 3), Link(0, 3), Link(3, 0)]
        let graph = try Graph(nodeCount: 5, links: links)
        #expect(Array(graph.neighbors(of: 0)) == [1, 3])
        #expect(Array(graph.neighbors(of: 1)) == [0, 2])
        #expect(Array(graph.neighbors(of: 3)) == [0])
        #expect(graph.degree(of: 4) == 0)
        #expect(graph.linkCount == 3)
        #expect(graph.links == [Link(0, 1), Link(0, 3), Link(1, 2)])
        #expect(graph.hasLink(2, 1) && !graph.hasLink(2, 3) && !graph.hasLink(0, 9))
    }

    @Test func rejectsLinksOutsideTheGraph() {
        #expect(throws: TopologyError.rankOutOfRange(rank: 4, nodeCount: 4)) {
            try Graph(nodeCount: 4, links: [Link(1, 4)])
        }
    }

    @Test(arguments: [1, 2, 3, 4, 5, 16, 17, 100])
    func ringHasDegreeTwo(n: Int) {
        let graph = Graph.ring(nodeCount: n)
        for rank in 0..<n {
            let expected = Set([(rank + 1) % n, (rank + n - 1) % n]).subtracting([rank])
            #expect(Set(graph.neighbors(of: rank).map(Int.init)) == expected)
        }
        #expect(graph.isCirculant)
    }

    @Test(arguments: [1, 2, 3, 10, 64])
    func meshLinksEveryPair(n: Int) {
        let graph = Graph.mesh(nodeCount: n)
        #expect(graph.linkCount == n * (n - 1) / 2)
        #expect(graph.minimumDegree == n - 1 && graph.maximumDegree == n - 1)
    }

    @Test func unionMergesLinks() throws {
        let a = try Graph(nodeCount: 4, links: [Link(0, 1), Link(1, 2)])
        let b = try Graph(nodeCount: 4, links: [Link(1, 2), Link(2, 3)])
        #expect(a.union(b).links == [Link(0, 1), Link(1, 2), Link(2, 3)])
    }

    @Test func circulantDetectionRejectsTrees() throws {
        #expect(!(try KAryTree(arity: 2, nodeCount: 7).graph().isCirculant))
        #expect(try BinomialGraph(nodeCount: 37).graph().isCirculant)
    }

    @Test func survivingGraphSkipsFailedRanksAndLinks() throws {
        let graph = Graph.ring(nodeCount: 6)
        let surviving = try SurvivingGraph(graph: graph, failures: FailureSet(nodes: [3], links: [Link(0, 1)]))
        #expect(surviving.reachable(from: 0) == [0, 4, 5])
        #expect(surviving.unreachable(from: 0) == [1, 2])
        #expect(!surviving.isConnected)
        #expect(surviving.usableNeighbors(of: 0) == [5])
        #expect(!surviving.isLinkUsable(0, 1) && !surviving.isLinkUsable(2, 3) && surviving.isLinkUsable(1, 2))
        #expect(surviving.distances(from: 3).allSatisfy { $0 == -1 })
    }

    @Test func survivingGraphValidatesFailures() {
        let graph = Graph.ring(nodeCount: 4)
        #expect(throws: TopologyError.rankOutOfRange(rank: 4, nodeCount: 4)) {
            try SurvivingGraph(graph: graph, failures: FailureSet(nodes: [4]))
        }
        #expect(throws: TopologyError.selfLink(rank: 2)) {
            try SurvivingGraph(graph: graph, failures: FailureSet(links: [Link(2, 2)]))
        }
    }

    @Test func distancesMatchReferenceUnderRandomFailures() throws {
        var generator = SplitMix64(seed: 11)
        for kind in [TopologyKind.binomialGraph, .tree(arity: 3), .ring, .binomialTree] {
            for n in [1, 2, 7, 50, 333] {
                let graph = try kind.makeGraph(nodeCount: n)
                let failures = TestSupport.randomFailures(graph: graph, count: n / 10, linkCount: n / 10, generator: &generator)
                let surviving = try SurvivingGraph(graph: graph, failures: failures)
                let adjacency = TestSupport.adjacency(graph)
                for source in [0, n / 2, n - 1] {
                    let expected = TestSupport.distances(adjacency, from: source, failed: failures.nodes, failedLinks: failures.links)
                    #expect(surviving.distances(from: source).map(Int.init) == expected, "\(kind) n=\(n) source=\(source)")
                }
            }
        }
    }
}
