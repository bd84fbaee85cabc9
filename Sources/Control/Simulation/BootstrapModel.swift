/// The modelled cluster of a ``BootstrapSimulation``: one agent per node, each node with a core of its own,
/// every pair of nodes joined by the same network. What the protocol logic costs is not modelled but
/// measured (``BootstrapCPU/measured``); these are the costs outside it.
///
/// ``hostCores`` and ``agentsPerProcess`` model one host instead (to check the model against real runs of
/// `vhpc bench bootstrap`): every agent shares the host's cores, and agents are packed into processes as
/// `--agents-per-process` packs them — an agent whose parent is in its process starts with it, links inside a
/// process carry messages without a socket, and processes talk over one trunk per pair.
public struct BootstrapModel: Sendable, Hashable {
    /// One-way latency of a message between two nodes.
    public var linkLatency: Duration
    /// Link bandwidth in bytes per second (a message's bytes add `bytes / bandwidth` to its latency).
    public var bandwidth: Double
    /// From a parent starting a child agent until the child's process is running (remote exec, start-up).
    public var spawnLatency: Duration
    /// Parent CPU per child agent it starts (fork and exec, or an ssh client); children start one by one.
    public var spawnCPU: Duration
    /// CPU per frame sent or received besides encoding and decoding it (system call, MAC, event loop).
    public var frameCPU: Duration
    /// One-way trips until a dialled agent has authenticated the dialler: TCP's SYN, SYN-ACK, then hello,
    /// challenge, response. The dialler has its link one trip later (welcome).
    public var acceptTrips: Int
    /// CPU per message handed between two agents of one process (no socket; the event loop's and the
    /// runtime's scheduling), on each end.
    public var localMessageCPU: Duration = .zero
    /// Cores shared by every agent (one host); nil: a core per node.
    public var hostCores: Int?
    /// With ``hostCores``: the CPU an agent process spends starting (loading, runtime set-up) before its
    /// agents run, on one of the host's cores from its spawn on (processes started at once queue for them).
    public var processStartCPU: Duration = .zero
    /// Agents per OS process (``ChunkPlan/processes(tree:agentsPerProcess:)``); 1: a process per agent.
    public var agentsPerProcess: Int = 1
    /// With ``hostCores``: the threads of one process (its event loops), so that one process's agents run
    /// on at most this many of the host's cores at once, however many the model has (on a busy host it has
    /// more, slower, ones: see ``cpuShare``); nil: no limit.
    public var threadsPerProcess: Int?
    /// The share of each core the job's work gets (1: an idle host). On a host with other load a burst of
    /// CPU takes longer than its CPU time: every CPU cost is stretched by 1 / share on the virtual clock
    /// (CPU figures stay CPU). `vhpc bench bootstrap-validate` measures it beside its real runs.
    public var cpuShare: Double = 1

    public init(
        linkLatency: Duration = .microseconds(25), bandwidth: Double = 1.25e9, spawnLatency: Duration = .milliseconds(10),
        spawnCPU: Duration = .microseconds(200), frameCPU: Duration = .microseconds(5), acceptTrips: Int = 5
    ) {
        self.linkLatency = linkLatency
        self.bandwidth = bandwidth
        self.spawnLatency = spawnLatency
        self.spawnCPU = spawnCPU
        self.frameCPU = frameCPU
        self.acceptTrips = acceptTrips
    }

    /// A model in which only latencies count (no CPU anywhere): for tests of the protocol's critical path.
    public static func latencyOnly(link: Duration, spawn: Duration) -> BootstrapModel {
        BootstrapModel(linkLatency: link, bandwidth: .infinity, spawnLatency: spawn, spawnCPU: .zero, frameCPU: .zero)
    }
}

/// What the protocol logic of a simulated agent costs: the time this machine takes to run it (``measured``),
/// or a fixed figure per event (for deterministic tests).
public enum BootstrapCPU: Sendable, Hashable {
    case measured
    case fixed(perEvent: Duration)
}
