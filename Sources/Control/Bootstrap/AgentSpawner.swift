import Launch
/// Starts the agent process for a chunk of the boot tree on its host. The vhpc front-end and every agent
/// process use one: NodeAgent's `LauncherAgentSpawner` over a Launch `Launcher` (local, ssh, pbs), or
/// ``SlurmStepSpawner``; how processes reach hosts is Launch's business.
public protocol AgentSpawner: Sendable {
    /// Starts `vhpc-agent` on `host` with `configuration` on its stdin.
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

/// A spawner that can also start one agent on each of many hosts at once, as one resource-manager job step
/// (Slurm's `srun`): the agents get `configuration` (no roots: each takes its rank from the resource manager
/// and its parent from the front-end's ``StepRendezvous`` at `configuration.rendezvous`). The returned
/// process stands for the whole step; signalling it ends the step on every host.
public protocol StepAgentSpawner: AgentSpawner {
    func spawnStep(hosts: [String], configuration: AgentProcessConfiguration) async throws -> SpawnedAgent
}
