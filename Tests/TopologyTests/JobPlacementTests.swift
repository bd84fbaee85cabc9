import Testing
import Topology

@Suite struct JobPlacementTests {
    @Test func placesControllerRootSessionAndToolAgents() throws {
        let placement = try JobPlacement(nodeCount: 6, toolAgentsPerNode: 2)
        let agents = placement.agents
        #expect(agents.count == placement.agentCount)
        #expect(agents.count == 1 + 6 * 4)
        #expect(Set(agents).count == agents.count)
        #expect(placement.rank(of: .controller) == 0)
        #expect(placement.parent(of: .controller) == nil)
        #expect(placement.parent(of: .session(node: 4)) == .root(node: 4))
        #expect(placement.parent(of: .tool(node: 4, index: 1)) == .session(node: 4))
        // Root agents follow the binary boot tree over ranks 0...6: rank r's parent is (r − 1) / 2.
        for node in 0..<6 {
            let parentRank = node / 2
            #expect(placement.parent(of: .root(node: node)) == placement.rankAgent(parentRank))
        }
    }

    @Test func parentsAndChildrenAgreeAndFormOneTree() throws {
        for kind in [TopologyKind.tree(arity: 2), .tree(arity: 3), .binomialTree] {
            let placement = try JobPlacement(nodeCount: 20, toolAgentsPerNode: 3, boot: kind)
            var childCount = 0
            for agent in placement.agents {
                for child in placement.children(of: agent) {
                    #expect(placement.parent(of: child) == agent)
                    childCount += 1
                }
                // Following parents always ends at the controller.
                var current = agent
                var steps = 0
                while let parent = placement.parent(of: current), steps < 1000 {
                    current = parent
                    steps += 1
                }
                #expect(current == .controller)
            }
            #expect(childCount == placement.agentCount - 1)
        }
    }

    @Test func addressesRoundTrip() throws {
        let placement = try JobPlacement(nodeCount: 5, toolAgentsPerNode: 2)
        for agent in placement.agents {
            let address = placement.address(of: agent)
            #expect(placement.agent(at: address) == agent)
            #expect(AgentAddress(address.description) == address)
        }
        #expect(placement.address(of: .session(node: 4)) == AgentAddress(rank: 5, slot: 1))
        #expect(placement.agent(at: AgentAddress(rank: 6, slot: 0)) == nil)
        #expect(placement.agent(at: AgentAddress(rank: 1, slot: 4)) == nil)
        #expect(placement.agent(at: AgentAddress(rank: 0, slot: 1)) == nil)
    }

    @Test func treeHopsReachEveryAgentAlongParentChildLinks() throws {
        let placement = try JobPlacement(nodeCount: 9, toolAgentsPerNode: 2)
        for source in placement.agents {
            for destination in placement.agents where destination != source {
                var current = source
                var hops = 0
                while current != destination, hops < 100, let next = placement.treeNextHop(from: current, to: destination) {
                    #expect(placement.parent(of: next) == current || placement.parent(of: current) == next)
                    current = next
                    hops += 1
                }
                #expect(current == destination, "\(source) → \(destination)")
            }
        }
    }

    @Test func routesBetweenAgentsAroundAFailedRootAgent() throws {
        let placement = try JobPlacement(nodeCount: 14, toolAgentsPerNode: 1)
        // Node 0's root agent (rank 1) fails: tools under ranks 3 and 4 must still reach the controller.
        let failures = FailureSet(nodes: [1])
        let routers = try (0..<placement.rankCount).map {
            try FailoverRouter(rank: $0, tree: placement.bootTree, failures: failures)
        }
        for node in [2, 3, 7] {
            var current = AgentID.tool(node: node, index: 0)
            var visited: [AgentID] = [current]
            while current != .controller, visited.count < 50 {
                let router = routers[placement.rank(of: current)]
                guard let next = placement.nextHop(from: current, to: .controller, rankHop: { router.nextHop(to: $0)?.rank })
                else { break }
                current = next
                visited.append(next)
            }
            #expect(current == .controller, "\(visited)")
            #expect(!visited.contains(.root(node: 0)))
        }
    }

    @Test func rejectsNonTreeBootAndBadCounts() {
        #expect(throws: TopologyError.bootTopologyNotATree(.binomialGraph)) {
            try JobPlacement(nodeCount: 4, boot: .binomialGraph)
        }
        #expect(throws: TopologyError.invalidNodeCount(0)) { try JobPlacement(nodeCount: 0) }
        #expect(throws: TopologyError.invalidToolCount(-1)) { try JobPlacement(nodeCount: 2, toolAgentsPerNode: -1) }
    }
}
