import Testing
import Topology

@Suite struct BinomialTreeTests {
    @Test func structureIsConsistentOverManySizes() throws {
        for n in TestSupport.sizes where n <= 10_000 {
            let tree = try BinomialTree(nodeCount: n)
            var childCount = 0
            for rank in 0..<n {
                for child in tree.children(of: rank) {
                    #expect(tree.parent(of: child) == rank)
                    childCount += 1
                }
            }
            #expect(childCount == n - 1, "n=\(n)")
            let graph = tree.graph()
            let depths = try SurvivingGraph(graph: graph).distances(from: 0)
            #expect(depths.allSatisfy { $0 >= 0 })
            #expect(Int(depths.max()!) == tree.height, "n=\(n)")
            #expect(tree.height <= TestSupport.ceilLog2(n))
            #expect((0..<n).allSatisfy { Int(depths[$0]) == tree.depth(of: $0) })
        }
    }

    @Test func rootHasOneChildPerPowerOfTwo() throws {
        for n in [1, 2, 5, 8, 9, 1000] {
            let children = try BinomialTree(nodeCount: n).children(of: 0)
            #expect(children.count == TestSupport.ceilLog2(n))
            #expect(children.allSatisfy { $0 & ($0 - 1) == 0 })
        }
    }
}
