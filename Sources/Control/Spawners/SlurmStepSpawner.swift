import Foundation
import HostProcess
import Launch
#if canImport(Glibc)
import Glibc
#endif

/// Starts vhpc's agents inside a Slurm allocation: all of them as one job step (`srun … vhpc agent --role
/// step`, one task per node), the configuration with the job secret broadcast on the step's stdin. The step's
/// srun runs as a local child (own process group); signalling it sends SIGTERM, on which srun cancels the step
/// on every node.
public struct SlurmStepSpawner: StepAgentSpawner {
    public let srun: String
    public let version: SrunCommand.Version
    /// Whether Slurm ends the other agents when one dies (the `abort` failure policy).
    public let killOnBadExit: Bool
    /// Path of the `vhpc` executable on the nodes.
    public let executable: String
    /// Whether the cluster's task plugin binds CPUs (then vhpc asks for `--cpu-bind=none`).
    public let binds: Bool

    public init(srun: String, version: SrunCommand.Version, killOnBadExit: Bool,
                executable: String = ExecutableLookup.currentExecutable(), binds: Bool = SrunCommand.taskPluginBinds()) {
        self.binds = binds
        self.srun = srun
        self.version = version
        self.killOnBadExit = killOnBadExit
        self.executable = executable
    }

    public func spawnStep(hosts: [String], configuration: AgentProcessConfiguration) async throws -> SpawnedAgent {
        let arguments = SrunCommand.stepArguments(hosts: hosts, version: version, killOnBadExit: killOnBadExit, binds: binds)
            + [executable, "agent", "--role", "step", "--job", configuration.jobID]
        return try await start(arguments, configuration: configuration)
    }

    /// One agent process on one node (tree spawn through srun; vhpc itself uses ``spawnStep(hosts:configuration:)``).
    public func spawnAgent(host: String, configuration: AgentProcessConfiguration) async throws -> SpawnedAgent {
        let arguments = SrunCommand.stepArguments(hosts: [host], version: version, killOnBadExit: false, binds: binds)
            + [executable, "agent", "--role", "root", "--job", configuration.jobID]
        return try await start(arguments, configuration: configuration)
    }

    /// The step's srun stands for every agent (their pids are other nodes'): after the grace period it gets
    /// SIGTERM, on which Slurm ends the step on every node; wait for that (bounded), so no step is left behind.
    public func sweep(_ job: AgentSweep) async {
        let pids = Set(job.spawned.map(\.pid))
        await ProcessExitWatch.waitUntilGone(pids, for: job.grace)
        for child in job.spawned { child.signal(SIGKILL) }
        await ProcessExitWatch.waitUntilGone(pids, for: .seconds(10))
    }

    private func start(_ arguments: [String], configuration: AgentProcessConfiguration) async throws -> SpawnedAgent {
        let bytes = Array(try JSONEncoder().encode(configuration)) + [UInt8(ascii: "\n")]
        let process = try await LocalLauncher().launch(LaunchRequest(
            host: "localhost", executable: srun, arguments: arguments, standardInput: bytes))
        return SpawnedAgent(pid: process.pid, waitForExit: { await process.waitForExit() }, signal: { _ in process.signal(SIGTERM) })
    }
}
