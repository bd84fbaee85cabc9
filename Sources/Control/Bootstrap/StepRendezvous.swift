import Topology

/// The front-end's side of a rendezvous with agents a resource manager started all at once (one Slurm job
/// step, one `pbsdsh`): a pure state machine.
///
/// With tree spawn a parent starts its children and tells them, on stdin, where it listens. Agents of one job
/// step start together, so nobody can tell them their parent's port in advance. Like ORTE/PRRTE daemons
/// calling back to the HNP, each step agent binds its listener, reports its endpoint (``join``) and waits; the
/// front-end answers with its boot-tree parent's endpoint once that parent has said it is ``ready`` (its agent
/// is registered, so a child's dial is not refused). Children of the controller get the controller's endpoint
/// at once. From there the ordinary tree handshake, BMG wiring and heartbeats run unchanged; failures (an
/// agent that never reports, a parent that dies) are found by the agents' handshake windows as with spawning.
public struct StepRendezvous: Sendable {
    /// What the shell must do.
    public enum Action: Sendable, Hashable {
        /// Tell `rank` where its parent listens.
        case sendParent(rank: Int, parent: AgentEndpoint)
        /// Refuse a report (close its connection) and say why.
        case reject(rank: Int, reason: String)
    }

    public let tree: BootTree
    public let controller: AgentEndpoint
    /// Endpoints of agents that joined, by rank.
    public private(set) var joined: [Int: AgentEndpoint] = [:]
    /// Agents whose children may dial them (the controller always).
    public private(set) var ready: Set<Int> = [0]
    /// Joined agents still waiting for their parent, by parent rank.
    private var waiting: [Int: [Int]] = [:]

    /// `tree` spans the controller (rank 0) and the nodes 1…N.
    public init(tree: BootTree, controller: AgentEndpoint) {
        self.tree = tree
        self.controller = controller
    }

    /// Node ranks (1…N) that have not joined yet.
    public var missing: [Int] { (1..<tree.nodeCount).filter { joined[$0] == nil } }

    /// A step agent reported where it listens.
    public mutating func join(_ endpoint: AgentEndpoint) -> [Action] {
        let rank = endpoint.rank
        guard rank >= 1, rank < tree.nodeCount else {
            return [.reject(rank: rank, reason: "rank \(rank) is not a node of this job (1…\(tree.nodeCount - 1))")]
        }
        guard joined[rank] == nil else {
            return [.reject(rank: rank, reason: "rank \(rank) joined twice")]
        }
        joined[rank] = endpoint
        let parent = tree.parent(of: rank) ?? 0
        if ready.contains(parent) { return [.sendParent(rank: rank, parent: listening(parent))] }
        waiting[parent, default: []].append(rank)
        return []
    }

    /// A joined agent is registered: its waiting children get its endpoint.
    public mutating func markReady(_ rank: Int) -> [Action] {
        guard let own = joined[rank], !ready.contains(rank) else { return [] }
        ready.insert(rank)
        return (waiting.removeValue(forKey: rank) ?? []).sorted().map { .sendParent(rank: $0, parent: own) }
    }

    private func listening(_ rank: Int) -> AgentEndpoint {
        rank == 0 ? controller : joined[rank]!
    }
}
