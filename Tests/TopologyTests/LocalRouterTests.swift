import Testing

@testable import Topology

/// The router an agent runs from local knowledge only (its neighbours and its ancestors).
@Suite struct LocalRouterTests {
    /// Exactly one end of every tree or binomial-graph link dials it, for every size up to 300.
    @Test func exactlyOneEndOfEveryLinkDials() throws {
        for n in 2...300 {
            let tree = try BootTree(kind: .tree(arity: 3), nodeCount: n)
            let routers = try (0..<n).map { try LocalRouter(rank: $0, tree: tree) }
            for router in routers {
                for peer in router.neighbors() {
                    #expect(routers[peer].isNeighbor(router.rank), "n=\(n): \(peer) does not see \(router.rank)")
                    #expect(router.dials(peer) != routers[peer].dials(router.rank), "n=\(n): link \(router.rank)-\(peer)")
                }
            }
        }
    }

    /// Neighbours are the tree's and the binomial graph's: O(log N), not N.
    @Test func anAgentKnowsLogarithmicallyManyNeighbours() throws {
        let tree = try BootTree(kind: .tree(arity: 4), nodeCount: 100_001)
        let router = try LocalRouter(rank: 12_345, tree: tree)
        #expect(router.neighbors().count <= 2 * 17 + 5)
        #expect(router.neighbors() == router.neighbors().filter { router.isNeighbor($0) })
    }

    /// With random failures known only where the agents would know them (each neighbour of a failed rank and
    /// each of its descendants), every survivor's route to the controller follows the tree until a failure,
    /// then the ring, never revisits a rank and, when it arrives, arrives at 0.
    @Test(arguments: [(1_000, 2, UInt64(1)), (4_097, 4, 2), (10_000, 8, 3)])
    func routesToTheControllerAroundLocalKnowledgeNeverLoop(n: Int, fanout: Int, seed: UInt64) throws {
        let tree = try BootTree(kind: .tree(arity: fanout), nodeCount: n)
        var random = SplitMix64(seed: seed)
        var failed = Set<Int>()
        while failed.count < n / 100 { failed.insert(1 + Int(random.next() % UInt64(n - 1))) }
        var routers = try (0..<n).map { try LocalRouter(rank: $0, tree: tree) }
        for rank in 0..<n where !failed.contains(rank) {
            for dead in failed { routers[rank].markFailed(node: dead) }
        }
        var delivered = 0
        for source in 0..<n where !failed.contains(source) {
            var seen: Set<Int> = [source]
            var current = source
            while current != 0, let next = routers[current].nextHop(to: 0) {
                #expect(!failed.contains(next))
                #expect(seen.insert(next).inserted, "loop from \(source) at \(next)")
                current = next
            }
            if current == 0 { delivered += 1 }
        }
        #expect(delivered == n - failed.count)
    }

    /// The second way up a report takes: never the first hop, a binomial-graph neighbour strictly closer to the
    /// controller around the ring, neither below nor above the agent in the tree (the controller aside), from which the tree (or the ring) leads
    /// on to 0 without coming back through the agent; in a tree of 4,097 ranks every agent but the controller's
    /// own neighbours has one.
    @Test func aSecondWayUpLeavesByAnotherBranchAndReachesTheController() throws {
        let n = 4_097
        let tree = try BootTree(kind: .tree(arity: 4), nodeCount: n)
        let routers = try (0..<n).map { try LocalRouter(rank: $0, tree: tree) }
        let ring = { (rank: Int) in min(rank, n - rank) }
        var without = 0
        for router in routers.dropFirst() {
            let primary = try #require(router.nextHop(to: 0))
            guard let second = router.alternateHop(to: 0, besides: primary) else {
                without += 1
                continue
            }
            #expect(second != primary && second != router.rank)
            #expect(router.isNeighbor(second))
            #expect(ring(second) < ring(router.rank), "\(router.rank) → \(second)")
            #expect(!tree.isInSubtree(second, of: router.rank))
            #expect(second == 0 || !tree.isInSubtree(router.rank, of: second), "\(second) is an ancestor of \(router.rank)")
            var current = second
            var hops = 0
            while current != 0, let next = routers[current].nextHop(to: 0) {
                #expect(next != router.rank, "the second way from \(router.rank) came back through it")
                current = next
                hops += 1
            }
            #expect(current == 0 && hops < 2 * 13)
        }
        #expect(without <= routers[0].neighbors().count, "\(without) agents without a second way")
        // Linked only: with no neighbour but the primary linked there is none.
        let router = routers[2_000]
        let primary = try #require(router.nextHop(to: 0))
        #expect(router.alternateHop(to: 0, besides: primary, linked: [primary]) == nil)
    }
}
