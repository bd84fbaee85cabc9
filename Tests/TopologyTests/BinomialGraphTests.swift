import Testing
import Topology

@Suite struct BinomialGraphTests {
    @Test func matchesItsDefinition() throws {
        for n in TestSupport.smallSizes + [200, 255, 256, 300] {
            let graph = try BinomialGraph(nodeCount: n).graph()
            #expect(TestSupport.adjacency(graph) == TestSupport.bruteForceBinomialGraph(n), "n=\(n)")
        }
    }

    @Test func isRegularWithBoundedDegree() throws {
        for n in TestSupport.sizes {
            let bmg = try BinomialGraph(nodeCount: n)
            let graph = bmg.graph()
            #expect(graph.minimumDegree == graph.maximumDegree, "n=\(n)")
            #expect(graph.maximumDegree == bmg.degree)
            #expect(bmg.degree <= 2 * TestSupport.ceilLog2(n), "n=\(n)")
            #expect(bmg.neighbors(of: n / 2) == graph.neighbors(of: n / 2).map(Int.init))
        }
    }

    @Test func diameterIsAtMostCeilLog2() throws {
        for n in TestSupport.sizes {
            let graph = try BinomialGraph(nodeCount: n).graph()
            // Circulant: every rank sees the same distances, so rank 0's eccentricity is the diameter.
            #expect(graph.isCirculant, "n=\(n)")
            let surviving = try SurvivingGraph(graph: graph)
            let eccentricity = try #require(surviving.eccentricity(of: 0))
            #expect(eccentricity <= TestSupport.ceilLog2(n), "n=\(n) diameter=\(eccentricity)")
            #expect(surviving.reachable(from: 0).count == n)
        }
    }

    @Test func circulantShortcutAgreesWithAllPairs() throws {
        for n in TestSupport.smallSizes {
            let adjacency = TestSupport.bruteForceBinomialGraph(n)
            let allPairs = (0..<n).map { TestSupport.distances(adjacency, from: $0).max()! }.max()!
            let graph = try BinomialGraph(nodeCount: n).graph()
            let diameter = try SurvivingGraph(graph: graph).diameter(ofComponentContaining: 0)
            #expect(diameter == Diameter(exactly: allPairs), "n=\(n)")
            #expect(allPairs <= TestSupport.ceilLog2(n))
        }
    }
}
