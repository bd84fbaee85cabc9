import Testing
import Topology

@Suite struct KAryTreeTests {
    /// ⌈log_k((k − 1)n + 1)⌉ − 1, in integers: the smallest e with k^e ≥ (k − 1)n + 1, minus one.
    static func formulaDepth(arity k: Int, nodeCount n: Int) -> Int {
        let target = (k - 1) * n + 1
        var exponent = 0
        var power = 1
        while power < target {
            power *= k
            exponent += 1
        }
        return exponent - 1
    }

    @Test(arguments: [2, 3, 4, 5, 8, 16])
    func heightMatchesFormulaAndSearch(arity: Int) throws {
        for n in TestSupport.sizes {
            let tree = try KAryTree(arity: arity, nodeCount: n)
            #expect(tree.height == Self.formulaDepth(arity: arity, nodeCount: n), "k=\(arity) n=\(n)")
            if n <= 5000 {
                let graph = tree.graph()
                let depths = try SurvivingGraph(graph: graph).distances(from: 0)
                #expect(Int(depths.max()!) == tree.height, "k=\(arity) n=\(n)")
                #expect(graph.linkCount == n - 1)
                #expect(depths.allSatisfy { $0 >= 0 })
            }
        }
    }

    @Test func chainIsAPath() throws {
        for n in [1, 2, 3, 10, 257] {
            let chain = try KAryTree(arity: 1, nodeCount: n)
            #expect(chain.height == n - 1)
            for rank in 0..<n {
                #expect(chain.parent(of: rank) == (rank == 0 ? nil : rank - 1))
                #expect(Array(chain.children(of: rank)) == (rank + 1 < n ? [rank + 1] : []))
            }
        }
    }

    @Test(arguments: [1, 2, 3, 7])
    func parentsAndChildrenAgree(arity: Int) throws {
        for n in [1, 2, 3, 10, 100, 1000] {
            let tree = try KAryTree(arity: arity, nodeCount: n)
            var childCount = 0
            for rank in 0..<n {
                let children = tree.children(of: rank)
                #expect(children.count <= arity)
                for child in children { #expect(tree.parent(of: child) == rank) }
                childCount += children.count
                if let parent = tree.parent(of: rank) {
                    #expect(tree.children(of: parent).contains(rank))
                    #expect(tree.depth(of: rank) == tree.depth(of: parent) + 1)
                }
            }
            #expect(childCount == n - 1)
        }
    }

    @Test func rejectsBadParameters() {
        #expect(throws: TopologyError.invalidArity(0)) { try KAryTree(arity: 0, nodeCount: 4) }
        #expect(throws: TopologyError.invalidNodeCount(0)) { try KAryTree(arity: 2, nodeCount: 0) }
    }
}
