import Wire

/// One node's share of a launch: the command, and the global/local rank of each of its tasks.
public struct NodeTaskPlan: Sendable, Hashable {
    public var jobID: String
    /// Agent rank of the node (1-based; the controller is 0).
    public var agentRank: Int
    /// 0-based node index (`VHPC_NODE`).
    public var node: Int
    /// Host name of the node (for messages).
    public var host: String
    /// Global ranks of this node's tasks.
    public var taskRanks: Range<Int>
    /// Total number of tasks (`VHPC_SIZE`).
    public var size: Int
    public var executable: String
    public var arguments: [String]
    /// Extra environment from the launch command.
    public var environment: [String: String]
    /// Processes, or VMs (image, plug-in, size) for the tasks.
    public var runtime: TaskRuntime = .processes
    public var workingDirectory: String
    /// Where every node's agent listens: agent rank → address (from the bootstrap's address table), so a
    /// backend can reach its peers on other nodes (the job's VM network).
    public var nodeAddresses: [Int: String] = [:]
    /// The job secret, for backends whose tasks join the control plane themselves (the guest agents of
    /// `vhpc run --vse` authenticate to their tool agent with it).
    public var secret: JobSecret?
    /// Number of nodes in the job.
    public var nodeCount = 1
    /// Agent ranks hosted by each agent process of the job (``ChunkPlan/processes(tree:agentsPerProcess:)``):
    /// agents of one process share its PMIx server. Empty: one agent per process.
    public var agentProcesses: [[Int]] {
        get { processes.isEmpty ? (0...nodeCount).map { [$0] } : processes }
        set { processes = newValue }
    }
    private var processes: [[Int]] = []

    public init(
        jobID: String, agentRank: Int, node: Int, host: String, taskRanks: Range<Int>, size: Int, executable: String,
        arguments: [String], environment: [String: String], workingDirectory: String
    ) {
        self.jobID = jobID
        self.agentRank = agentRank
        self.node = node
        self.host = host
        self.taskRanks = taskRanks
        self.size = size
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.workingDirectory = workingDirectory
    }

    /// The plan for `agentRank`'s node from a flooded launch command (`tasks` = job size).
    public init(command: LaunchCommand, jobID: String, agentRank: Int, nodeCount: Int, host: String) {
        let layout = TaskLayout(tasks: Int(command.tasks), nodes: nodeCount)
        self.init(
            jobID: jobID, agentRank: agentRank, node: agentRank - 1, host: host,
            taskRanks: layout.ranks(onNode: agentRank - 1), size: Int(command.tasks), executable: command.executable,
            arguments: command.arguments, environment: command.environmentDictionary, workingDirectory: command.workingDirectory)
        self.nodeCount = nodeCount
        self.runtime = command.runtime
    }

    /// `vhpc run --mpi`: which process-management interfaces tasks are served.
    public enum MPIMode: String, Sendable, CaseIterable {
        /// Both PMI-1 (MPICH) and PMIx (Open MPI): whichever the program's MPI speaks.
        case auto, pmi1, pmix, none
    }

    public var mpiMode: MPIMode { environment[Self.mpiVariable].flatMap(MPIMode.init(rawValue:)) ?? .auto }
    /// Whether tasks get a PMI-1 server (`--mpi auto` or `pmi1`).
    public var usesPMI: Bool { mpiMode == .auto || mpiMode == .pmi1 }
    /// Whether tasks get the PMIx server (`--mpi auto` or `pmix`).
    public var usesPMIx: Bool { mpiMode == .auto || mpiMode == .pmix }
    /// The launch variable that carries `--mpi`.
    public static let mpiVariable = "VHPC_MPI"
    /// The launch variable that turns on lenient PMI barriers: milliseconds (see
    /// NodeAgent's `PMINodeServer.Configuration.lenientAfter`). `vhpc run --vse` sets it.
    public static let pmiLenientVariable = "VHPC_PMI_LENIENT_MS"

    /// The lenient-barrier delay a launch environment asks for.
    public static func pmiLenientDelay(_ environment: [String: String]) -> Duration? {
        environment[pmiLenientVariable].flatMap(Int.init).map { .milliseconds($0) }
    }

    /// The PMI-1 variables of task `rank`: `PMI_RANK`, `PMI_SIZE`, and `PMI_FD` when the connection's
    /// descriptor is known here (in a VM the guest agent sets it).
    public func pmiEnvironment(forTask rank: Int, fd: Int32?) -> [String: String] {
        var variables = ["PMI_RANK": String(rank), "PMI_SIZE": String(size)]
        if let fd { variables["PMI_FD"] = String(fd) }
        return variables
    }

    /// The environment of task `rank`: the agent's, the launch's, and the `VHPC_*` variables.
    public func environment(forTask rank: Int, base: [String: String]) -> [String: String] {
        environment(forTask: rank, launchEnvironment: base.merging(environment) { _, new in new })
    }

    /// The environment of task `rank` from `launchEnvironment` (a base with the launch's variables over it,
    /// worked out once for all tasks): with the `VHPC_*` variables.
    public func environment(forTask rank: Int, launchEnvironment: [String: String]) -> [String: String] {
        var result = launchEnvironment
        result["VHPC_RANK"] = String(rank)
        result["VHPC_SIZE"] = String(size)
        result["VHPC_NODE"] = String(node)
        result["VHPC_LOCAL_RANK"] = String(rank - taskRanks.lowerBound)
        result["VHPC_JOB"] = jobID
        return result
    }
}

extension LaunchCommand {
    /// The launch's environment as a dictionary (a later entry wins).
    public var environmentDictionary: [String: String] {
        var result: [String: String] = [:]
        for variable in environment { result[variable.name] = variable.value }
        return result
    }
}
