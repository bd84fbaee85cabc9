/// One agent of a job (paper Figure 1): the controller, or a root, session or tool agent on a node.
///
/// Nodes are numbered `0..<nodeCount`; tool agents on a node are numbered from 0.
public enum AgentID: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The job's controller (rank 0 of the boot topology).
    case controller
    /// The privileged agent of a node; it starts the node's other agents.
    case root(node: Int)
    /// The agent acting as the user on a node.
    case session(node: Int)
    /// An agent driving the hypervisor on a node; a child of the node's session agent.
    case tool(node: Int, index: Int)

    /// The node hosting the agent (nil for the controller).
    public var node: Int? {
        switch self {
        case .controller: return nil
        case .root(let node), .session(let node), .tool(let node, _): return node
        }
    }

    /// Steps below the node's root agent (or the controller): 0, 1 for a session agent, 2 for a tool agent.
    public var localDepth: Int {
        switch self {
        case .controller, .root: return 0
        case .session: return 1
        case .tool: return 2
        }
    }

    /// Position among the agents of its rank: 0 for a root agent or the controller, 1 for the session
    /// agent, 2 + i for tool agent i.
    public var slot: Int {
        switch self {
        case .controller, .root: return 0
        case .session: return 1
        case .tool(_, let index): return 2 + index
        }
    }

    private var sortKey: (Int, Int) { (node.map { $0 + 1 } ?? 0, slot) }

    public static func < (lhs: AgentID, rhs: AgentID) -> Bool { lhs.sortKey < rhs.sortKey }

    public var description: String {
        switch self {
        case .controller: return "controller"
        case .root(let node): return "root[\(node)]"
        case .session(let node): return "session[\(node)]"
        case .tool(let node, let index): return "tool[\(node).\(index)]"
        }
    }
}
