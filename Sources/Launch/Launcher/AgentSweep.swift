import HostProcess
#if canImport(Glibc)
import Glibc
#endif

/// What is left of a job's agent processes when it ends, for its spawner's sweep (``AgentSpawner/sweep(_:)``):
/// the agents were told to exit; none of their processes may outlive the job.
public struct AgentSweep: Sendable {
    public var jobID: String
    /// The processes the front-end started (its launcher's children).
    public var spawned: [SpawnedAgent]
    /// Pids the agents reported (on this machine for the local launcher; on their hosts otherwise).
    public var agentPIDs: Set<pid_t>
    /// How long agents get to exit on their own after the job's terminate.
    public var grace: Duration = .milliseconds(1500)
    /// Some agent failed: its process's last words (on stderr) are worth waiting for.
    public var agentsFailed = false

    public init(jobID: String, spawned: [SpawnedAgent], agentPIDs: Set<pid_t>) {
        self.jobID = jobID
        self.spawned = spawned
        self.agentPIDs = agentPIDs
    }

    /// The sweep of a launcher whose children stand for agents elsewhere (an ssh client, pbsdsh): give the
    /// agents `grace` to exit, then SIGKILL every spawned child (its process group where it has one).
    public func killSpawned() async {
        var pids = agentPIDs.union(spawned.map(\.pid))
        pids.remove(getpid())
        await ProcessExitWatch.waitUntilGone(pids, for: grace)
        for child in spawned { child.signal(SIGKILL) }
    }
}
