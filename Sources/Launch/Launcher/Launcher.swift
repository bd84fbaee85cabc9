
/// How an agent process gets onto a node: the plug-in protocol of the Launch layer.
///
/// Implementations: `local` (a child process on this machine), `ssh` (OpenSSH to the host); Slurm
/// (`srun --nodes=1 -w host`) and PBS (`pbsdsh -h host`) fit the same shape. The control runtime asks a
/// launcher to start `vhpc-agent …` on a host; with tree spawn every agent uses a launcher to start its
/// own children, so the front-end is never a linear bottleneck.
public protocol Launcher: Sendable {
    /// A short name for messages and `--launcher` (`local`, `ssh`, …).
    var name: String { get }
    /// Starts the command on the request's host. Throws `LaunchError` naming host and command.
    func launch(_ request: LaunchRequest) async throws -> any LaunchedProcess
    /// After a job: ends what is left of its agent processes, the way this launcher reaches them (by default
    /// ``AgentSweep/killSpawned()``: the children it started are SIGKILLed after the grace period).
    func sweep(_ job: AgentSweep) async
    /// See ``AgentSpawner/killAgentsNow(jobID:)`` (by default nothing).
    func killAgentsNow(jobID: String)
    /// Whether the processes it starts run on this machine (by default no).
    var startsOnThisMachine: Bool { get }
}

extension Launcher {
    public func sweep(_ job: AgentSweep) async { await job.killSpawned() }
    public func killAgentsNow(jobID: String) {}
    public var startsOnThisMachine: Bool { false }
}

/// One process to start on one host.
public struct LaunchRequest: Sendable, Hashable {
    public var host: String
    /// Absolute path of the program on that host (for ssh: the remote path).
    public var executable: String
    public var arguments: [String]
    /// Extra environment for the process (ssh passes it on the remote command line).
    public var environment: [String: String]
    /// Bytes written to the process's stdin, which is then closed (how agents get the job secret: never on a
    /// command line). Empty: stdin is /dev/null.
    public var standardInput: [UInt8]

    public init(
        host: String, executable: String, arguments: [String], environment: [String: String] = [:],
        standardInput: [UInt8] = []
    ) {
        self.host = host
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.standardInput = standardInput
    }
}

/// A started process (local child, or the ssh client standing for the remote one).
public protocol LaunchedProcess: Sendable {
    var host: String { get }
    /// Local pid of the child we started (the process itself, or the ssh client).
    var pid: Int32 { get }
    /// Sends a signal to the process (and its process group where the launcher made one).
    func signal(_ signal: Int32)
    /// Waits for exit; returns the exit status, or 128 + signal.
    func waitForExit() async -> Int32
}

/// A launch that failed, naming where and what.
public struct LaunchError: Error, CustomStringConvertible, Sendable {
    public var host: String
    public var command: String
    public var reason: String

    public init(host: String, command: String, reason: String) {
        self.host = host
        self.command = command
        self.reason = reason
    }

    public var description: String { "cannot start on \(host): \(reason) (command: \(command))" }
}
