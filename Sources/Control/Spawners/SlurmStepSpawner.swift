import Foundation
import HostProcess
import Launch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Starts vhpc's agents inside a Slurm allocation: all of them as one job step (`srun … vhpc-agent --role
/// step`, one task per node), the configuration with the job secret broadcast on the step's stdin. The step's
/// srun runs as a local child (own process group); signalling it sends SIGTERM, on which srun cancels the step
/// on every node.
public struct SlurmStepSpawner: StepAgentSpawner {
    public let srun: String
    public let version: SrunCommand.Version
    /// Whether Slurm ends the other agents when one dies (the `abort` failure policy).
    public let killOnBadExit: Bool
    /// Path of the node agent's executable (`vhpc-agent`) on the nodes.
    public let executable: String
    /// Whether the cluster's task plugin binds CPUs (then vhpc asks for `--cpu-bind=none`).
    public let binds: Bool
    /// A step already started for this job (``prestart(hosts:jobID:)``), waiting for its configuration.
    public private(set) var pending: PendingStep?

    public init(srun: String, version: SrunCommand.Version, killOnBadExit: Bool,
                executable: String = AgentExecutable.beside(), binds: Bool = SrunCommand.taskPluginBinds()) {
        self.binds = binds
        self.srun = srun
        self.version = version
        self.killOnBadExit = killOnBadExit
        self.executable = executable
    }

    public func spawnStep(hosts: [String], configuration: AgentProcessConfiguration) async throws -> SpawnedAgent {
        if let pending, pending.hosts == hosts, pending.jobID == configuration.jobID {
            return try pending.configure(Self.configurationLine(configuration))
        }
        return try await start(stepCommand(hosts: hosts, jobID: configuration.jobID), configuration: configuration)
    }

    /// One agent process on one node (tree spawn through srun; vhpc itself uses ``spawnStep(hosts:configuration:)``).
    public func spawnAgent(host: String, configuration: AgentProcessConfiguration) async throws -> SpawnedAgent {
        try AgentExecutable.check(executable)
        let arguments = SrunCommand.stepArguments(hosts: [host], version: version, killOnBadExit: false, binds: binds)
            + [executable] + AgentExecutable.arguments(role: .root, jobID: configuration.jobID)
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

    /// Starts the job's step now, before its configuration exists (the front-end has yet to find its own
    /// address and bind its listeners): srun's step creation and the agents' start on the nodes overlap with
    /// that work. ``spawnStep(hosts:configuration:)`` for the same hosts and job then only writes the
    /// configuration to the step's stdin; ``PendingStep/withdraw()`` ends it unconfigured.
    public func prestart(hosts: [String], jobID: String) async throws -> SlurmStepSpawner {
        let arguments = try stepCommand(hosts: hosts, jobID: jobID)
        let (process, input) = try await LocalLauncher().start(LaunchRequest(host: "localhost", executable: srun, arguments: arguments))
        var spawner = self
        spawner.pending = PendingStep(hosts: hosts, jobID: jobID, process: process, input: input)
        return spawner
    }

    /// srun's arguments for the job's step: one `vhpc-agent --role step` per node (checked here first).
    func stepCommand(hosts: [String], jobID: String) throws -> [String] {
        try AgentExecutable.check(executable)
        return SrunCommand.stepArguments(hosts: hosts, version: version, killOnBadExit: killOnBadExit, binds: binds)
            + [executable] + AgentExecutable.arguments(role: .step, jobID: jobID)
    }

    static func configurationLine(_ configuration: AgentProcessConfiguration) throws -> [UInt8] {
        Array(try JSONEncoder().encode(configuration)) + [UInt8(ascii: "\n")]
    }

    private func start(_ arguments: [String], configuration: AgentProcessConfiguration) async throws -> SpawnedAgent {
        let process = try await LocalLauncher().launch(LaunchRequest(
            host: "localhost", executable: srun, arguments: arguments, standardInput: Self.configurationLine(configuration)))
        return PendingStep.spawned(process)
    }
}

/// A job step started ahead of its configuration (``SlurmStepSpawner/prestart(hosts:jobID:)``): its agents
/// wait on stdin. It gets exactly one line: the configuration, or the withdrawal line when the front-end gives
/// up before the job starts (the agents then exit quietly, with nothing started).
public final class PendingStep: Sendable {
    /// The line that tells waiting step agents to exit without a job (`NodeAgentProcess` knows it).
    public static let withdrawal: [UInt8] = Array("withdrawn\n".utf8)
    public let hosts: [String]
    public let jobID: String
    let process: LocalProcess
    private let input: Mutex<Int32?>

    init(hosts: [String], jobID: String, process: LocalProcess, input: Int32) {
        self.hosts = hosts
        self.jobID = jobID
        self.process = process
        self.input = Mutex(input)
    }

    /// Hands the agents their configuration; the step is then the job's.
    func configure(_ line: [UInt8]) throws -> SpawnedAgent {
        guard send(line) else { throw LaunchError(host: "localhost", command: "srun", reason: "the job step was already withdrawn") }
        return Self.spawned(process)
    }

    /// Ends the step before its job: the agents read the withdrawal line and exit; waits (bounded) for srun,
    /// then ends what is left with SIGTERM (Slurm cancels the step on every node).
    public func withdraw() async {
        guard send(Self.withdrawal) else { return }
        await ProcessExitWatch.waitUntilGone([process.pid], for: .seconds(5))
        process.signal(SIGTERM)
        await ProcessExitWatch.waitUntilGone([process.pid], for: .seconds(10))
    }

    /// Writes `line` and closes stdin, once; false if that already happened.
    private func send(_ line: [UInt8]) -> Bool {
        guard let fd = input.withLock({ fd -> Int32? in defer { fd = nil }; return fd }) else { return false }
        line.withUnsafeBytes { writeAll(fd, $0) }
        close(fd)
        return true
    }

    static func spawned(_ process: any LaunchedProcess) -> SpawnedAgent {
        SpawnedAgent(pid: process.pid, waitForExit: { await process.waitForExit() }, signal: { _ in process.signal(SIGTERM) })
    }
}
