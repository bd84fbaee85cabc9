import Foundation

/// What an agent process needs to join a job. Passed on the process's stdin as JSON (never on the command
/// line: it holds the job secret).
public struct AgentProcessConfiguration: Codable, Sendable, Hashable {
    public var jobID: String
    /// The job secret, hex.
    public var secretHex: String
    /// Nodes in the job (ranks 1…nodeCount; rank 0 is the controller).
    public var nodeCount: Int
    /// Boot tree arity.
    public var fanout: Int
    /// The subtree roots this process hosts, each with the endpoint of its parent agent.
    public var roots: [ChunkRoot]
    /// About how many agents one process hosts (1 = one agent per process).
    public var agentsPerProcess: Int
    /// Host of each node (index rank − 1); empty means every node is this machine (loopback).
    public var hosts: [String]
    /// Address agents bind to (`127.0.0.1` for local runs, `0.0.0.0` across hosts).
    public var bindHost: String
    /// Heartbeat period in milliseconds (0 disables the ping-pong detector).
    public var heartbeatMilliseconds: Int
    /// Heartbeat timeout in milliseconds (0 = 1.5 × period).
    public var heartbeatTimeoutMilliseconds: Int
    /// Handshake window in milliseconds.
    public var handshakeMilliseconds: Int
    /// Launcher children are started with (`local`, `ssh`).
    public var launcher: String
    /// Test hook: ranks that never complete their parent handshake.
    public var stallRanks: [Int]
    /// Log level name for agents (`warning`, `debug`…).
    public var logLevel: String
    /// Whether staged files are fsynced before they are renamed into place.
    public var stagingDurable: Bool = true
    /// The job's tasks will be served PMIx (processes, `--mpi auto|pmix`, a task on every node): the process
    /// starts its PMIx server as it starts, alongside the bootstrap, not when the launch comes.
    public var prestartsPMIx: Bool = false
    /// Agents started as one job step: the front-end's rendezvous, where each reports its endpoint and learns
    /// its parent's (see ``StepRendezvous``); nil with tree spawn.
    public var rendezvous: AgentEndpoint?
    /// Agents started as one job step: the controller's own endpoint (rank 0). A step agent whose boot-tree
    /// parent is the controller dials it at once instead of asking the rendezvous for it (one connection and
    /// handshake fewer before its tree handshake); it still reports to the rendezvous when it has children.
    public var controller: AgentEndpoint?
    /// Set by a resident agent (``ResidentAgents``): this node's rank in the job (its place in `hosts`, plus 1).
    /// A step agent takes it over `SLURM_NODEID`, which under resident agents numbers the allocation's nodes,
    /// not the job's.
    public var stepRank: Int?

    public init(
        jobID: String, secretHex: String, nodeCount: Int, fanout: Int, roots: [ChunkRoot], agentsPerProcess: Int,
        hosts: [String], bindHost: String, heartbeatMilliseconds: Int, heartbeatTimeoutMilliseconds: Int,
        handshakeMilliseconds: Int, launcher: String, stallRanks: [Int] = [], logLevel: String = "warning"
    ) {
        self.jobID = jobID
        self.secretHex = secretHex
        self.nodeCount = nodeCount
        self.fanout = fanout
        self.roots = roots
        self.agentsPerProcess = agentsPerProcess
        self.hosts = hosts
        self.bindHost = bindHost
        self.heartbeatMilliseconds = heartbeatMilliseconds
        self.heartbeatTimeoutMilliseconds = heartbeatTimeoutMilliseconds
        self.handshakeMilliseconds = handshakeMilliseconds
        self.launcher = launcher
        self.stallRanks = stallRanks
        self.logLevel = logLevel
    }

    /// The host of the node with agent rank `rank` (loopback when `hosts` is empty).
    public func host(ofRank rank: Int) -> String {
        rank >= 1 && rank <= hosts.count ? hosts[rank - 1] : "127.0.0.1"
    }

    /// The same configuration for a child process hosting `roots`.
    public func forChild(roots: [ChunkRoot]) -> AgentProcessConfiguration {
        var copy = self
        copy.roots = roots
        return copy
    }
}

/// A boot-subtree root hosted by an agent process, and where its parent agent listens.
public struct ChunkRoot: Codable, Sendable, Hashable {
    public var rank: Int
    public var parent: AgentEndpoint

    public init(rank: Int, parent: AgentEndpoint) {
        self.rank = rank
        self.parent = parent
    }
}
