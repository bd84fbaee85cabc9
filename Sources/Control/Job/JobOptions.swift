import Wire

/// What the user asked `vhpc run` for.
public struct JobOptions: Sendable {
    /// What to do when an agent fails.
    public enum FailurePolicy: String, Sendable, CaseIterable {
        /// Terminate everything still alive, report, exit non-zero.
        case abort
        /// Keep the survivors running; report the failure.
        case `continue`
    }

    public var jobID: String
    public var nodeCount: Int
    public var taskCount: Int
    /// Host of each node; empty = all on this machine.
    public var hosts: [String]
    public var fanout: Int = 2
    public var agentsPerProcess: Int = 1
    public var heartbeat: Duration? = .seconds(1)
    public var heartbeatTimeout: Duration? = nil
    public var handshakeWindow: Duration = .seconds(10)
    public var onFailure: FailurePolicy = .abort
    /// Which tasks read the front-end's stdin (`--input`).
    public var stdinTarget: StdinTarget = .rank(0)
    /// Task failures and the time limit (`-K`, `--time`); see ``JobPolicy``.
    public var policy = JobPolicy.Configuration()
    public var executable: String
    public var arguments: [String]
    public var workingDirectory: String
    public var bindHost: String = "127.0.0.1"
    /// The address other agents dial the controller at (nil: `bindHost`, or this host's name when binding
    /// all interfaces). Across hosts, the front-end sets the local address that routes to them.
    public var advertisedHost: String?
    public var launcher: String = "local"
    /// Test hook: ranks whose parent handshake never comes.
    public var stallRanks: [Int] = []
    /// Stop after bootstrap (benchmarks): do not launch tasks.
    public var bootstrapOnly: Bool = false
    public var agentLogLevel: String = "warning"
    /// Extra environment for every task.
    public var environment: [String: String] = [:]
    /// Processes, or VMs booted by the tool agents (`vhpc run --vse`).
    public var runtime: TaskRuntime = .processes
    /// Files staged to every node after bootstrap, before the tasks start.
    public var staging: [StagingFile] = []
    /// Whether nodes fsync staged files before renaming them into place.
    public var stagingDurable: Bool = true
    /// Whether every agent gets the whole address table (VM jobs: each node's switch joins every other
    /// node's); otherwise agents learn only their neighbours' endpoints.
    public var fullAddressTable: Bool = false
    /// See ``AgentProcessConfiguration/prestartsPMIx``.
    public var prestartsPMIx = false

    public init(jobID: String, nodeCount: Int, taskCount: Int, hosts: [String], executable: String, arguments: [String], workingDirectory: String) {
        self.jobID = jobID
        self.nodeCount = nodeCount
        self.taskCount = taskCount
        self.hosts = hosts
        self.executable = executable
        self.arguments = arguments
        self.workingDirectory = workingDirectory
    }
}
