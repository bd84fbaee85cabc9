import Testing
import Topology

@Suite struct TopologySummaryTests {
    @Test func failedInnerTreeRankCutsOffItsSubtree() throws {
        let tree = try KAryTree(arity: 2, nodeCount: 31)
        let summary = try TopologySummary(kind: .tree(arity: 2), nodeCount: 31, failures: FailureSet(nodes: [2]))
        let subtree = (3..<31).filter { BootTree.kAry(tree).isInSubtree($0, of: 2) }
        #expect(summary.unreachable == subtree)
        #expect(!summary.isConnected)
        #expect(summary.depth == tree.height)
        #expect(summary.linkCount == 30)
        #expect(summary.failedNodes == [2])
        // What is left under rank 0 is the root plus rank 1's subtree (height − 1 levels below rank 1): the
        // longest path joins a leaf on each side of rank 1.
        #expect(summary.diameter == Diameter(exactly: 2 * (tree.height - 1)))
    }

    @Test func binomialGraphSurvivesDegreeMinusOneFailures() throws {
        let bmg = try BinomialGraph(nodeCount: 300)
        let failed = Array(bmg.neighbors(of: 150).dropFirst())
        let summary = try TopologySummary(kind: .binomialGraph, nodeCount: 300, failures: FailureSet(nodes: failed))
        #expect(summary.isConnected)
        #expect(summary.unreachable.isEmpty)
        #expect(summary.depth == nil)
        #expect(summary.minimumDegree == bmg.degree && summary.maximumDegree == bmg.degree)
        #expect(summary.linkCount == 300 * bmg.degree / 2)
    }

    @Test func failedControllerCutsOffEveryone() throws {
        let summary = try TopologySummary(kind: .ring, nodeCount: 6, failures: FailureSet(nodes: [0]))
        #expect(summary.unreachable == [1, 2, 3, 4, 5])
        #expect(summary.isConnected)
        #expect(summary.diameter == nil)
    }

    @Test func rejectsFailuresOutsideTheTopology() {
        #expect(throws: TopologyError.rankOutOfRange(rank: 10, nodeCount: 10)) {
            try TopologySummary(kind: .ring, nodeCount: 10, failures: FailureSet(nodes: [10]))
        }
    }
}
