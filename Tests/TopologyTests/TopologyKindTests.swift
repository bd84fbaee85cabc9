import Testing
import Topology

@Suite struct TopologyKindTests {
    @Test(arguments: [
        ("tree:2", TopologyKind.tree(arity: 2)), ("tree:1", .tree(arity: 1)), ("tree:16", .tree(arity: 16)),
        ("tree", .tree(arity: 2)), ("binomial", .binomialTree), ("bmg", .binomialGraph),
        ("mesh", .mesh), ("ring", .ring), ("BMG", .binomialGraph),
    ])
    func parsesKnownKinds(text: String, expected: TopologyKind) throws {
        #expect(try TopologyKind.parse(text) == expected)
    }

    @Test func descriptionRoundTrips() {
        for kind in [TopologyKind.tree(arity: 3), .tree(arity: 1), .binomialTree, .binomialGraph, .mesh, .ring] {
            #expect(TopologyKind(kind.description) == kind)
        }
    }

    @Test func rejectsZeroArity() {
        #expect(throws: TopologyError.invalidArity(0)) { try TopologyKind.parse("tree:0") }
        #expect(throws: TopologyError.invalidArity(-3)) { try TopologyKind.parse("tree:-3") }
    }

    @Test func rejectsUnknownKinds() {
        for text in ["torus", "tree:", "tree:x", "", "bmg2"] {
            #expect(throws: TopologyError.unknownKind(text)) { try TopologyKind.parse(text) }
        }
    }

    @Test func rejectsZeroNodes() {
        for kind in [TopologyKind.tree(arity: 2), .binomialTree, .binomialGraph, .mesh, .ring] {
            #expect(throws: TopologyError.invalidNodeCount(0)) { try kind.makeGraph(nodeCount: 0) }
        }
    }

    @Test func rejectsHugeMesh() {
        let n = TopologyKind.maximumMeshNodeCount + 1
        #expect(throws: TopologyError.meshTooLarge(nodeCount: n, limit: TopologyKind.maximumMeshNodeCount)) {
            try TopologyKind.mesh.makeGraph(nodeCount: n)
        }
    }

    @Test func errorMessagesNameTheCause() {
        #expect(TopologyError.invalidArity(0).description.contains("arity"))
        #expect(TopologyError.invalidNodeCount(0).description.contains("node count"))
        #expect(TopologyError.rankOutOfRange(rank: 9, nodeCount: 4).description.contains("rank 9"))
        #expect(TopologyError.unknownKind("torus").description.contains("torus"))
    }
}
