/// A job's agents mapped onto its boot topology (paper Figure 1).
///
/// Rank 0 of the boot tree is the controller; rank r ≥ 1 is the root agent of node r − 1. A node's session
/// agent is a child of its root agent and its tool agents are children of the session agent. Messages
/// between ranks follow whatever rank-level router the caller supplies (boot tree, ``RoutingTable``,
/// ``FailoverRouter``); within a rank they go up or down the local chain.
public struct JobPlacement: Sendable, Hashable {
    /// Number of compute nodes (one root agent each).
    public let nodeCount: Int
    /// Tool agents under each node's session agent.
    public let toolAgentsPerNode: Int
    /// The boot tree over `nodeCount + 1` ranks.
    public let bootTree: BootTree

    /// A placement of `nodeCount` nodes booted over `boot` (a tree kind, binary by default).
    public init(nodeCount: Int, toolAgentsPerNode: Int = 1, boot: TopologyKind = .tree(arity: 2)) throws(TopologyError) {
        guard nodeCount >= 1 else { throw .invalidNodeCount(nodeCount) }
        guard toolAgentsPerNode >= 0 else { throw .invalidToolCount(toolAgentsPerNode) }
        self.nodeCount = nodeCount
        self.toolAgentsPerNode = toolAgentsPerNode
        self.bootTree = try BootTree(kind: boot, nodeCount: nodeCount + 1)
    }

    /// Ranks in the boot topology: the controller plus one per node.
    public var rankCount: Int { nodeCount + 1 }

    /// Total number of agents.
    public var agentCount: Int { 1 + nodeCount * (2 + toolAgentsPerNode) }

    /// Every agent, ordered by address.
    public var agents: [AgentID] {
        var result: [AgentID] = [.controller]
        result.reserveCapacity(agentCount)
        for node in 0..<nodeCount {
            result.append(.root(node: node))
            result.append(.session(node: node))
            for index in 0..<toolAgentsPerNode { result.append(.tool(node: node, index: index)) }
        }
        return result
    }

    /// Whether `agent` belongs to this job.
    public func contains(_ agent: AgentID) -> Bool {
        switch agent {
        case .controller: return true
        case .root(let node), .session(let node): return (0..<nodeCount).contains(node)
        case .tool(let node, let index):
            return (0..<nodeCount).contains(node) && (0..<toolAgentsPerNode).contains(index)
        }
    }

    /// The boot-topology rank hosting `agent`.
    public func rank(of agent: AgentID) -> Int {
        agent.node.map { $0 + 1 } ?? 0
    }

    /// The agent at the top of `rank`: the controller for rank 0, otherwise a root agent.
    public func rankAgent(_ rank: Int) -> AgentID {
        rank == 0 ? .controller : .root(node: rank - 1)
    }

    /// The address of `agent`.
    public func address(of agent: AgentID) -> AgentAddress {
        AgentAddress(rank: rank(of: agent), slot: agent.slot)
    }

    /// The agent at `address`, or nil if none is there.
    public func agent(at address: AgentAddress) -> AgentID? {
        let candidate: AgentID
        switch (address.rank, address.slot) {
        case (0, 0): candidate = .controller
        case (0, _): return nil
        case (let rank, 0): candidate = .root(node: rank - 1)
        case (let rank, 1): candidate = .session(node: rank - 1)
        case (let rank, let slot): candidate = .tool(node: rank - 1, index: slot - 2)
        }
        return contains(candidate) ? candidate : nil
    }

    /// The parent of `agent`: the boot-tree parent's agent for root agents, the root agent for a session
    /// agent, the session agent for a tool agent; nil for the controller.
    public func parent(of agent: AgentID) -> AgentID? {
        switch agent {
        case .controller: return nil
        case .root(let node): return bootTree.parent(of: node + 1).map(rankAgent)
        case .session(let node): return .root(node: node)
        case .tool(let node, _): return .session(node: node)
        }
    }

    /// The children of `agent`, ordered by address.
    public func children(of agent: AgentID) -> [AgentID] {
        switch agent {
        case .controller:
            return bootTree.children(of: 0).map(rankAgent)
        case .root(let node):
            return [.session(node: node)] + bootTree.children(of: node + 1).map(rankAgent)
        case .session(let node):
            return (0..<toolAgentsPerNode).map { .tool(node: node, index: $0) }
        case .tool:
            return []
        }
    }

    /// The next agent on the way from `source` to `destination`; nil when they are equal or `rankHop`
    /// finds no route. `rankHop(r)` gives the next rank from `rank(of: source)` toward rank r.
    public func nextHop(from source: AgentID, to destination: AgentID, rankHop: (Int) -> Int?) -> AgentID? {
        guard source != destination else { return nil }
        let sourceRank = rank(of: source)
        let destinationRank = rank(of: destination)
        if sourceRank == destinationRank {
            // Within one rank the agents form a chain root → session → tools.
            if destination.localDepth > source.localDepth {
                return source.localDepth == 0 && destination.localDepth == 2
                    ? .session(node: sourceRank - 1) : destination
            }
            return parent(of: source)
        }
        guard source.localDepth == 0 else { return parent(of: source) }
        return rankHop(destinationRank).map(rankAgent)
    }

    /// The next agent along the boot tree (no failures considered).
    public func treeNextHop(from source: AgentID, to destination: AgentID) -> AgentID? {
        let sourceRank = rank(of: source)
        return nextHop(from: source, to: destination) { bootTree.nextHop(from: sourceRank, to: $0) }
    }
}
