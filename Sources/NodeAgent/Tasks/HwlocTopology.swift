import Wire

/// The node's hardware topology handed to MPICH's ranks, as a launcher that knows the node does: each MPICH
/// rank otherwise discovers it for itself in `MPI_Init` (hwloc reading `/sys` and `/proc`: ~15 ms of system
/// CPU per rank here, a third of its system time), and on an oversubscribed node every rank's discovery is
/// paid on the same cores. The agent exports hwloc's XML once per machine view (``HwlocTopologyCache``) and
/// MPICH's ranks load it instead (`HWLOC_XMLFILE`, with `HWLOC_THISSYSTEM=1` so binding still acts on this
/// machine), Open MPI's from the PMIx namespace (`pmix.ltopo`, which Open MPI 4.1 reads before discovering,
/// as mpirun's daemon hands it its topology). Pure.
public enum HwlocTopology {
    /// hwloc's variables through which a user picks the topology's source (or says whether it is this
    /// machine's): when the tasks' environment has any of them, they discover as the user asked. Which
    /// components discover (`HWLOC_COMPONENTS`, `HWLOC_PLUGINS_BLACKLIST`) is not among them: the agent
    /// discovers with the same variables (the PMIx server sets both for itself when unset), and they are part
    /// of the view the file is named after.
    static let userChoices: Set<String> = ["HWLOC_XMLFILE", "HWLOC_SYNTHETIC", "HWLOC_FSROOT", "HWLOC_CPUID_PATH", "HWLOC_THISSYSTEM"]

    /// Whether the tasks' environment picks hwloc's source itself (``userChoices``): then they get no topology
    /// from the agent, neither the variables nor Open MPI's `pmix.ltopo`.
    public static func userChose(_ taskEnvironment: [String: String]) -> Bool {
        taskEnvironment.keys.contains(where: userChoices.contains)
    }

    /// Whether the agent looks up the topology for tasks running a program with `libraries` in `taskEnvironment`:
    /// an MPI program (MPICH gets ``environment(xmlFile:)``, Open MPI `pmix.ltopo`), unless the user chose.
    public static func wanted(by libraries: MPILinkage.Libraries, taskEnvironment: [String: String]) -> Bool {
        libraries.linksMPI && !userChose(taskEnvironment)
    }

    /// The variables that point MPICH's hwloc at `xmlFile` (Open MPI's ranks ignore them: they read the
    /// topology the PMIx server gives, else discover).
    public static func environment(xmlFile: String) -> [String: String] {
        ["HWLOC_XMLFILE": xmlFile, "HWLOC_THISSYSTEM": "1"]
    }

    /// The cache file's name for a machine view described by `facts` (boot id, online CPUs, this process's
    /// allowed CPUs and memory nodes, its cgroup, the hwloc variables it runs with): a new boot, a CPU taken
    /// offline or another cpuset gives another name, so a stale topology is never handed out.
    public static func cacheFileName(facts: [String]) -> String {
        var digest = ContentDigest()
        Array(facts.joined(separator: "\n\u{1}").utf8).withUnsafeBytes { digest.update($0) }
        return filePrefix + digest.hex().prefix(24) + ".xml"
    }

    /// What every cache file's name starts with (older views' files are removed when a new one is written).
    static let filePrefix = "hwloc-topology-"
}
