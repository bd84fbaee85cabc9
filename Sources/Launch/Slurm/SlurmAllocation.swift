import Foundation

/// The Slurm allocation vhpc runs in, read from the environment srun/salloc/sbatch set.
public struct SlurmAllocation: Sendable, Hashable {
    public var jobID: String
    /// The allocation's nodes, in Slurm's order (`SLURM_JOB_NODELIST` expanded).
    public var nodes: [String]
    /// The node list as Slurm wrote it (for messages).
    public var nodeList: String

    /// A bad allocation environment, named precisely.
    public struct Problem: Error, CustomStringConvertible, Sendable, Equatable {
        public var description: String

        public init(description: String) {
            self.description = description
        }
    }

    /// The allocation, nil outside one (no `SLURM_JOB_ID`). Throws when the node list is empty or malformed.
    public static func current(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws(Problem) -> SlurmAllocation? {
        guard let jobID = environment["SLURM_JOB_ID"] ?? environment["SLURM_JOBID"], !jobID.isEmpty else { return nil }
        let variable = environment["SLURM_JOB_NODELIST"] != nil ? "SLURM_JOB_NODELIST" : "SLURM_NODELIST"
        let list = (environment[variable] ?? "").trimmingCharacters(in: .whitespaces)
        guard !list.isEmpty else {
            throw Problem(description: "Slurm job \(jobID): \(variable) is empty or unset (is this shell inside the allocation?)")
        }
        let nodes: [String]
        do { nodes = try Hostlist.expand(list) } catch {
            throw Problem(description: "Slurm job \(jobID): cannot read \(variable)='\(list)': \(error)")
        }
        return SlurmAllocation(jobID: jobID, nodes: nodes, nodeList: list)
    }

    /// The hosts a job of `nodes` nodes (default: all) on `hostlist` (default: the allocation's order) runs on;
    /// throws when they do not fit the allocation.
    public func select(nodes count: Int?, hostlist: [String]?) throws(Problem) -> [String] {
        var hosts = nodes
        if let hostlist {
            let known = Set(nodes)
            if let outside = hostlist.first(where: { !known.contains($0) }) {
                throw Problem(description: "-w: host '\(outside)' is not in Slurm job \(jobID)'s allocation (\(nodeList))")
            }
            hosts = hostlist
        }
        let wanted = count ?? hosts.count
        guard wanted >= 1 else { throw Problem(description: "-N must be at least 1 (got \(wanted))") }
        guard wanted <= hosts.count else {
            let source = hostlist == nil ? "Slurm job \(jobID) has \(nodes.count) node\(nodes.count == 1 ? "" : "s") (\(nodeList))"
                : "-w names \(hosts.count) host\(hosts.count == 1 ? "" : "s")"
            throw Problem(description: "-N \(wanted) is more than \(source)")
        }
        return Array(hosts.prefix(wanted))
    }
}
