import Foundation

/// A Slurm allocation's resident agents (`vhpc agents start`): one `vhpc-agent --role resident` on each node,
/// held by a job step of their own for the allocation's life, each listening for the jobs of later `vhpc run`s
/// in the allocation. A job then starts its agents through them, without a job step (and an srun) of its
/// own, as PRRTE's DVM (`prte`, then `prun`) and Flux's brokers do. What the front-end keeps of them, in a file
/// only its user reads: it holds the secret that authenticates front-ends to them.
public struct ResidentAgents: Codable, Sendable, Hashable {
    /// The Slurm job (allocation) they serve.
    public var allocation: String
    /// Authenticates front-ends to them, hex (as a job secret authenticates a job's links).
    public var secretHex: String
    /// Where each listens, by node name (empty while they start: the state is written before they report, so
    /// that `vhpc agents stop` can end a start that was interrupted).
    public var endpoints: [String: AgentEndpoint]
    /// Their Slurm step (`<job>.<step>`), once they reported: `scancel` ends it from any host of the cluster.
    public var step: String?
    /// The machine that started them, where their srun runs.
    public var host: String
    /// That srun's pid.
    public var srunPID: Int32
    /// That srun's start in clock ticks since boot (a recycled pid is not it).
    public var srunStartTicks: UInt64

    public init(allocation: String, secretHex: String, endpoints: [String: AgentEndpoint], step: String?, host: String,
                srunPID: Int32, srunStartTicks: UInt64) {
        self.allocation = allocation
        self.secretHex = secretHex
        self.endpoints = endpoints
        self.step = step
        self.host = host
        self.srunPID = srunPID
        self.srunStartTicks = srunStartTicks
    }

    /// In a resident agent's spare node agent (`vhpc-agent --role step`, see `SpareAgent`): it makes its first
    /// uses while it waits for its job (``AgentWarmUp``), and takes the variable out of its environment.
    public static let spareVariable = "VHPC_SPARE_AGENT"

    /// The job ID their links authenticate with (never a job's own).
    public static func linkJobID(allocation: String) -> String { "resident-\(allocation)" }

    /// Whether a resident agent runs on every one of `hosts`.
    public func covers(_ hosts: [String]) -> Bool {
        !hosts.isEmpty && hosts.allSatisfy { endpoints[$0] != nil }
    }

    /// The state file of `allocation`'s resident agents under `stateRoot` (`$VHPC_HOME`).
    public static func file(allocation: String, stateRoot: String) -> String {
        stateRoot + "/resident/slurm-\(allocation).json"
    }
}

/// What a resident agent reads on its stdin (`vhpc-agent --role resident`): never on a command line, it holds
/// the allocation's secret.
public struct ResidentConfiguration: Codable, Sendable, Hashable {
    /// The Slurm job (allocation) they serve.
    public var allocation: String
    /// The allocation's secret, hex.
    public var secretHex: String
    /// The starting front-end's listener: each agent reports where it listens there, once.
    public var report: AgentEndpoint
    /// Handshake window of its links, in milliseconds.
    public var handshakeMilliseconds: Int

    public init(allocation: String, secretHex: String, report: AgentEndpoint, handshakeMilliseconds: Int) {
        self.allocation = allocation
        self.secretHex = secretHex
        self.report = report
        self.handshakeMilliseconds = handshakeMilliseconds
    }
}
