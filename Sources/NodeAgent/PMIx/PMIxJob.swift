import Control

/// What a node's PMIx server tells the library about the job, sans I/O: the namespace, which ranks live on
/// which PMIx node, and the info Open MPI's `MPI_Init` reads (sizes, local peers and ranks, node and proc
/// maps, per-proc data, the session directories).
///
/// A PMIx node is an agent process: PMIx allows one server per process, so when a local job packs several
/// agents into one process (`--agents-per-process`), their tasks share that process's server and count as
/// one node to the MPI library (they are on one machine). Across hosts there is one agent per process, and a
/// PMIx node is a vhpc node.
public struct PMIxJob: Sendable, Hashable {
    public struct Node: Sendable, Hashable {
        /// Name the MPI library sees (`vhpc-node<first vhpc node>`: unique per job, so shared-memory segments
        /// of "nodes" that share a machine do not collide).
        public var name: String
        /// Agent ranks of the vhpc nodes it holds, and which of them run tasks.
        public var agents: [Int]
        public var agentsWithTasks: [Int]
        /// Global ranks of its tasks, ascending.
        public var ranks: [Int]
    }

    public var jobID: String
    /// Unguessable part of the namespace (from the job secret): OpenPMIx 4.2 listens on loopback TCP and its
    /// `native` security takes the uid a TCP client claims, so knowing the namespace is what a client must prove.
    public var namespaceTag: String
    public var size: Int
    /// PMIx nodes with at least one task, in rank order.
    public var nodes: [Node]
    /// Index in ``nodes`` of the node this server serves.
    public var localNode: Int

    /// The namespace of job `jobID`.
    public static func namespace(jobID: String, tag: String = "") -> String { "vhpc." + jobID + (tag.isEmpty ? "" : "." + tag) }
    public var namespace: String { Self.namespace(jobID: jobID, tag: namespaceTag) }
    public var local: Node { nodes[localNode] }

    /// - Parameters:
    ///   - processes: agent ranks hosted by each agent process of the job (``ChunkPlan/processes(tree:agentsPerProcess:)``).
    ///   - agentRank: the agent whose process this server runs in.
    /// The PMIx node (agent process) whose first agent with tasks is `firstAgent`.
    public static func nodeName(firstAgent: Int) -> String { "vhpc-node\(firstAgent - 1)" }

    public init(jobID: String, layout: TaskLayout, processes: [[Int]], agentRank: Int, namespaceTag: String = "") {
        self.jobID = jobID
        self.namespaceTag = namespaceTag
        self.size = layout.tasks
        var nodes: [Node] = []
        var local = 0
        for agents in processes {
            let sorted = agents.filter { $0 >= 1 }.sorted()
            let withTasks = sorted.filter { layout.taskCount(onNode: $0 - 1) > 0 }
            guard let first = withTasks.first else { continue }
            if sorted.contains(agentRank) { local = nodes.count }
            nodes.append(Node(name: Self.nodeName(firstAgent: first), agents: sorted, agentsWithTasks: withTasks,
                              ranks: withTasks.flatMap { Array(layout.ranks(onNode: $0 - 1)) }))
        }
        nodes.sort { $0.ranks[0] < $1.ranks[0] }
        if let index = nodes.firstIndex(where: { $0.agents.contains(agentRank) }) { local = index }
        self.nodes = nodes
        self.localNode = local
    }

    /// The namespace's info for `PMIx_server_register_nspace`; `tmpdir` is the node's session directory,
    /// `topology` the node's hwloc XML when known (``HwlocTopology``): Open MPI 4.1's ranks load it from
    /// `pmix.ltopo` instead of discovering the node each (as under mpirun, whose daemon hands it over).
    public func namespaceInfo(tmpdir: String, topology: String? = nil) -> [PMIxInfo] {
        let size = UInt32(size)
        let local = self.local
        var info: [PMIxInfo] = [
            .init("pmix.jobid", .string(jobID)),
            .init("pmix.job.size", .uint32(size)),
            .init("pmix.univ.size", .uint32(size)),
            .init("pmix.max.size", .uint32(size)),
            .init("pmix.job.napps", .uint32(1)),
            .init("pmix.app.size", .uint32(size)),
            .init("pmix.aldr", .rank(0)),
            .init("pmix.num.nodes", .uint32(UInt32(nodes.count))),
            .init("pmix.spawned", .bool(false)),
            // Node and proc maps in the "raw" form every OpenPMIx reads: node names, then each node's ranks.
            .init("pmix.nmap", .string("raw:" + nodes.map(\.name).joined(separator: ","))),
            .init("pmix.pmap", .string("raw:" + nodes.map { $0.ranks.map(String.init).joined(separator: ",") }.joined(separator: ";"))),
            .init("pmix.local.size", .uint32(UInt32(local.ranks.count))),
            .init("pmix.node.size", .uint32(UInt32(local.ranks.count))),
            .init("pmix.lpeers", .string(local.ranks.map(String.init).joined(separator: ","))),
            .init("pmix.lldr", .rank(UInt32(local.ranks[0]))),
            .init("pmix.tmpdir", .string(tmpdir)),
            .init("pmix.nsdir", .string(tmpdir + "/" + namespace)),
            .init("pmix.tdir.rmclean", .bool(true)),
        ]
        if let topology { info.append(.init("pmix.ltopo", .string(topology))) }
        for (nodeID, node) in nodes.enumerated() {
            for (localRank, rank) in node.ranks.enumerated() {
                info.append(.init("pmix.pdata", .infos([
                    .init("pmix.rank", .rank(UInt32(rank))),
                    .init("pmix.grank", .rank(UInt32(rank))),
                    .init("pmix.apprank", .rank(UInt32(rank))),
                    .init("pmix.appnum", .uint32(0)),
                    .init("pmix.lrank", .uint16(UInt16(truncatingIfNeeded: localRank))),
                    .init("pmix.nrank", .uint16(UInt16(truncatingIfNeeded: localRank))),
                    .init("pmix.nodeid", .uint32(UInt32(nodeID))),
                    .init("pmix.hname", .string(node.name)),
                ])))
            }
        }
        return info
    }
}
