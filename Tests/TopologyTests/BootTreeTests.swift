import Testing
import Topology

@Suite struct BootTreeTests {
    @Test(arguments: [TopologyKind.tree(arity: 1), .tree(arity: 2), .tree(arity: 5), .binomialTree])
    func pathsAreShortestAndNextHopsFollowThem(kind: TopologyKind) throws {
        for n in [1, 2, 3, 12, 45] {
            let tree = try BootTree(kind: kind, nodeCount: n)
            #expect(tree.kind == kind)
            let adjacency = TestSupport.adjacency(tree.graph())
            for source in 0..<n {
                let distance = TestSupport.distances(adjacency, from: source)
                for destination in 0..<n {
                    let path = tree.path(from: source, to: destination)
                    #expect(path.first == source && path.last == destination)
                    #expect(path.count - 1 == distance[destination], "\(kind) n=\(n) \(source)→\(destination)")
                    #expect(tree.nextHop(from: source, to: destination) == (path.count > 1 ? path[1] : nil))
                    let inSubtree = path.count == 1 || tree.path(from: 0, to: destination).contains(source)
                    #expect(tree.isInSubtree(destination, of: source) == inSubtree)
                }
            }
        }
    }

    @Test func rejectsKindsThatAreNotTrees() {
        for kind in [TopologyKind.binomialGraph, .mesh, .ring] {
            #expect(throws: TopologyError.bootTopologyNotATree(kind)) { try BootTree(kind: kind, nodeCount: 4) }
            #expect(!kind.isTree)
            #expect(kind.bootTree(nodeCount: 4) == nil)
        }
    }
}
