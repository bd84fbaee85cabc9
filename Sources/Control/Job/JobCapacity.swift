/// Whether a job fits the machine it would run on, checked before anything starts: one clear line instead of
/// hundreds of agent processes thrashing a small host (`-N 100000` on 2 cores) or VMs starved into false
/// failures (`--vms-per-node 64`).
///
/// Pure: the shell supplies the host's facts (cores, available memory, process limit). The per-item costs
/// are estimates from measurements on this project's test machine (`ps -o rss` of a running job), rounded up.
public struct JobCapacity: Sendable {
    /// What the host has.
    public struct Host: Sendable, Hashable {
        public var cores: Int
        /// `MemAvailable` of /proc/meminfo.
        public var availableMemory: UInt64
        /// RLIMIT_NPROC / kernel threads-max, whichever is smaller (nil: no limit known).
        public var processLimit: Int?

        public init(cores: Int, availableMemory: UInt64, processLimit: Int?) {
            self.cores = cores
            self.availableMemory = availableMemory
            self.processLimit = processLimit
        }
    }

    /// What the job asks for.
    public struct Demand: Sendable, Hashable {
        public var nodes: Int
        public var tasks: Int
        /// Agent processes on the host(s) checked (packed agents share one).
        public var agentProcesses: Int
        /// Whether every node is this one host (local launcher): demands add up.
        public var nodesShareHost: Bool
        /// With VMs: per node count, vCPUs and memory of each.
        public var vmsPerNode: Int?
        public var vcpus: Int = 1
        public var vmMemory: UInt64 = 0
        /// `--overcommit`: more vCPUs than cores is allowed.
        public var overcommit = false

        public init(nodes: Int, tasks: Int, agentProcesses: Int, nodesShareHost: Bool) {
            self.nodes = nodes
            self.tasks = tasks
            self.agentProcesses = agentProcesses
            self.nodesShareHost = nodesShareHost
        }
    }

    /// Resident memory of one agent process before its agents (measured about 30 MiB).
    public static let agentProcessBytes: UInt64 = 40 << 20
    /// Memory per hosted agent (links, tables, buffers; measured about 60 KiB at 256 per process).
    public static let agentBytes: UInt64 = 128 << 10
    /// Memory per task process, beyond the program's own (pipes, a PMI socket, a small shell).
    public static let taskBytes: UInt64 = 2 << 20
    /// QEMU's own memory per VM beyond the guest's RAM (TCG translation cache, device model).
    public static let vmOverheadBytes: UInt64 = 96 << 20

    /// nil if the job fits, else one line saying what does not.
    public static func check(_ demand: Demand, host: Host) -> String? {
        let share = demand.nodesShareHost ? demand.nodes : 1
        if let vms = demand.vmsPerNode {
            let vcpusPerNode = vms * demand.vcpus
            if !demand.overcommit, vcpusPerNode > host.cores {
                return "\(vms) VMs per node × \(demand.vcpus) vCPU\(demand.vcpus == 1 ? "" : "s") need \(vcpusPerNode) cores per node; this host has \(host.cores) (fewer --vms-per-node, or --overcommit to run them anyway)"
            }
            let vmCount = vms * share
            let needed = UInt64(vmCount) * (demand.vmMemory + vmOverheadBytes)
            if needed > host.availableMemory {
                return "\(vmCount) VMs × \(mebibytes(demand.vmMemory)) (+\(mebibytes(vmOverheadBytes)) for QEMU each) need \(mebibytes(needed)); this host has \(mebibytes(host.availableMemory)) available"
            }
        }
        guard demand.nodesShareHost else { return nil }
        let processes = demand.agentProcesses + demand.tasks  // a task is a process, or a QEMU
        if let limit = host.processLimit, processes > limit {
            return "-N \(demand.nodes) with \(demand.tasks) tasks needs \(processes) processes on this host; its limit is \(limit)"
        }
        let needed = UInt64(demand.agentProcesses) * agentProcessBytes + UInt64(demand.nodes) * agentBytes
            + UInt64(demand.tasks) * taskBytes
        if needed > host.availableMemory {
            return "-N \(demand.nodes) with \(demand.tasks) tasks needs about \(mebibytes(needed)) for agents and tasks on this host; it has \(mebibytes(host.availableMemory)) available"
        }
        return nil
    }

    static func mebibytes(_ bytes: UInt64) -> String {
        bytes >= 10 << 30 ? "\(bytes >> 30) GiB" : "\(bytes >> 20) MiB"
    }
}
