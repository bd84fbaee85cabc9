/// Starts the agent process for a chunk of the boot tree on its host. The vhpc front-end and every agent
/// process use one (backed by a `Launcher`: local, ssh…); Control itself does not know how processes reach
/// hosts.
public protocol AgentSpawner: Sendable {
    /// Starts `vhpc agent` on `host` with `configuration` on its stdin.
    func spawnAgent(host: String, configuration: AgentProcessConfiguration) async throws -> SpawnedAgent
    /// After the job: makes sure none of its agent processes outlives it, the way this spawner's processes
    /// are reached (by default ``AgentSweep/killSpawned()``).
    func sweep(_ job: AgentSweep) async
    /// A second Ctrl-C: SIGKILL what is left of the job's agent processes at once, without waiting (by
    /// default nothing: they are elsewhere and end with their connection to this process).
    func killAgentsNow(jobID: String)
    /// Whether every agent process runs on this machine (the local launcher): the nodes' files (staged
    /// files, PMIx session files, VM records) are then this machine's to sweep.
    var agentsRunHere: Bool { get }
}

extension AgentSpawner {
    public func sweep(_ job: AgentSweep) async { await job.killSpawned() }
    public func killAgentsNow(jobID: String) {}
    public var agentsRunHere: Bool { false }
}

/// A started agent process, as its spawner sees it.
public struct SpawnedAgent: Sendable {
    /// Local pid (the agent itself, or the ssh client standing for it).
    public var pid: Int32
    /// Waits for the process to exit; returns its status (128 + signal when killed).
    public var waitForExit: @Sendable () async -> Int32
    /// Signals the process (group).
    public var signal: @Sendable (Int32) -> Void

    public init(pid: Int32, waitForExit: @escaping @Sendable () async -> Int32, signal: @escaping @Sendable (Int32) -> Void) {
        self.pid = pid
        self.waitForExit = waitForExit
        self.signal = signal
    }
}

/// A spawner that can also start one agent on each of many hosts at once, as one resource-manager job step
/// (Slurm's `srun`): the agents get `configuration` (no roots: each takes its rank from the resource manager
/// and its parent from the front-end's ``StepRendezvous`` at `configuration.rendezvous`). The returned
/// process stands for the whole step; signalling it ends the step on every host.
public protocol StepAgentSpawner: AgentSpawner {
    func spawnStep(hosts: [String], configuration: AgentProcessConfiguration) async throws -> SpawnedAgent
}
