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
    /// The first rank this process hosts; it hosts the boot subtree below it down to `chunkDepth` levels.
    public var chunkRoot: Int
    /// Extra tree levels hosted in this process (0 = one agent per process).
    public var chunkDepth: Int
    /// Where the chunk root's parent listens.
    public var parent: AgentEndpoint
    /// Host of each node (index rank − 1); empty means every node is this machine (loopback).
    public var hosts: [String]
    /// Address agents bind to (`127.0.0.1` for local runs, `0.0.0.0` across hosts).
    public var bindHost: String
    /// Heartbeat period in milliseconds (0 disables the ping-pong detector).
    public var heartbeatMilliseconds: Int
    /// Heartbeat timeout in milliseconds (0 = 1.25 × period).
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

    public init(
        jobID: String, secretHex: String, nodeCount: Int, fanout: Int, chunkRoot: Int, chunkDepth: Int, parent: AgentEndpoint,
        hosts: [String], bindHost: String, heartbeatMilliseconds: Int, heartbeatTimeoutMilliseconds: Int,
        handshakeMilliseconds: Int, launcher: String, stallRanks: [Int] = [], logLevel: String = "warning"
    ) {
        self.jobID = jobID
        self.secretHex = secretHex
        self.nodeCount = nodeCount
        self.fanout = fanout
        self.chunkRoot = chunkRoot
        self.chunkDepth = chunkDepth
        self.parent = parent
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

    /// The same configuration for the process hosting the chunk rooted at `root`, whose parent is `parent`.
    public func forChild(root: Int, parent: AgentEndpoint) -> AgentProcessConfiguration {
        var copy = self
        copy.chunkRoot = root
        copy.parent = parent
        return copy
    }

    /// Chunk depth that puts about `agentsPerProcess` agents in one process for a tree of arity `fanout`.
    public static func chunkDepth(agentsPerProcess: Int, fanout: Int) -> Int {
        guard agentsPerProcess > 1 else { return 0 }
        var depth = 0
        var size = 1
        var level = 1
        while true {
            level *= max(fanout, 1)
            if size + level > agentsPerProcess || fanout <= 1 && depth + 2 > agentsPerProcess { break }
            size += level
            depth += 1
        }
        return depth
    }
}
