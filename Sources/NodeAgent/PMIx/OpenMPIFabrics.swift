/// Open MPI's fabric components that can only drive hardware this node lacks, left out of its ranks' start.
///
/// Debian's Open MPI opens its `psm` and `psm2` MTLs (and, unless its default parameter file excludes them,
/// the `ofi` MTL and BTL) in every rank; they pull in libpsm2 and libinfinipath (libfabric too), whose
/// library constructors poll for Omni-Path and InfiniPath devices with `usleep` (~980 sleeps, ~200 ms of
/// every rank's `MPI_Init` here, perf of `clock_nanosleep` call chains; under mpirun and `srun --mpi=pmix`
/// alike). On a node with no RDMA device (`/sys/class/infiniband`: verbs, EFA, usNIC, PSM3), no Omni-Path or
/// InfiniPath device (`/dev/hfi1*`, `/dev/ipath*`), no Slingshot (`/dev/cxi*`) and no Gemini/Aries
/// (`/dev/kgni*`) those components find nothing to use (Open MPI 4.1 leaves libfabric's tcp, udp, sockets
/// and shm providers out by default), so leaving them out changes no transport: ranks use `vader` and `tcp`
/// as before. A launcher that knows its node may say so, as mpirun says when a node is oversubscribed.
/// Never over a choice: a selection in the task's environment is kept as it is; one in an MCA parameter
/// file that excludes components is extended (the variable replaces the file's value, so it repeats it),
/// one that names the components to use is kept. Pure: the node comes from ``OpenMPIFabricProbe``.
public enum OpenMPIFabrics {
    /// What the node has that a fabric component could use, and what its parameter files select.
    public struct Node: Sendable, Equatable {
        /// Entries of `/sys/class/infiniband` (RDMA devices).
        public var rdmaDevices: Int
        /// Entries of `/dev` named like a fabric's device (``isFabricDevice(_:)``).
        public var fabricDeviceNodes: Int
        /// `mtl` and `btl` as Open MPI's parameter files set them (the user's file over the system's).
        public var configured: [String: String]

        public init(rdmaDevices: Int, fabricDeviceNodes: Int, configured: [String: String]) {
            self.rdmaDevices = rdmaDevices
            self.fabricDeviceNodes = fabricDeviceNodes
            self.configured = configured
        }
    }

    /// Per framework, the components left out on a node without fabric hardware.
    static let leftOut: [(framework: String, components: [String])] = [("mtl", ["ofi", "psm", "psm2"]), ("btl", ["ofi"])]
    /// The device names under `/dev` that some fabric component drives.
    static let devicePrefixes = ["hfi1", "ipath", "cxi", "kgni"]

    /// Whether a `/dev` entry is a fabric device.
    public static func isFabricDevice(_ name: String) -> Bool {
        devicePrefixes.contains { name.hasPrefix($0) }
    }

    /// The `mtl` and `btl` values an MCA parameter file sets (`btl = ^openib,ofi`); comments and other
    /// parameters are skipped, a later line wins.
    public static func selections(inParameterFile text: String) -> [String: String] {
        var found: [String: String] = [:]
        for whole in text.split(separator: "\n") {
            let line = whole.prefix { $0 != "#" }
            guard let equals = line.firstIndex(of: "=") else { continue }
            let name = String(line[..<equals].filter { $0 != " " && $0 != "\t" })
            guard leftOut.contains(where: { $0.framework == name }) else { continue }
            found[name] = String(line[line.index(after: equals)...].filter { $0 != " " && $0 != "\t" })
        }
        return found
    }

    /// The variables to add to the environment of an Open MPI program's ranks on `node` (`taskEnvironment`,
    /// whose values they never replace).
    public static func environment(node: Node, taskEnvironment: [String: String]) -> [String: String] {
        guard node.rdmaDevices == 0, node.fabricDeviceNodes == 0 else { return [:] }
        var variables: [String: String] = [:]
        for (framework, components) in leftOut {
            let variable = "OMPI_MCA_" + framework
            guard taskEnvironment[variable] == nil else { continue }
            var excluded: [String] = []
            if let configured = node.configured[framework] {
                // A list without '^' names the only components that load: the fabric ones load only if named.
                guard configured.hasPrefix("^") else { continue }
                excluded = configured.dropFirst().split(separator: ",").map(String.init)
            }
            let missing = components.filter { !excluded.contains($0) }
            guard !missing.isEmpty else { continue }
            variables[variable] = "^" + (excluded + missing).joined(separator: ",")
        }
        return variables
    }
}
