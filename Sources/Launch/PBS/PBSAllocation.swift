import Foundation

/// The PBS/Torque allocation vhpc runs in: `$PBS_NODEFILE`, one line per slot (a host named on k lines has
/// k slots), as `qsub` writes it for the job.
public struct PBSAllocation: Sendable, Hashable {
    public var jobID: String
    public var nodefile: String
    /// The nodefile's hosts, first appearance order.
    public var hosts: [String]
    /// Slots per host.
    public var slots: [String: Int]

    /// A bad allocation environment, named precisely.
    public struct Problem: Error, CustomStringConvertible, Sendable, Equatable {
        public var description: String
        public init(description: String) { self.description = description }
    }

    /// The allocation, nil outside one (no `PBS_JOBID`). Throws when `PBS_NODEFILE` is unset, unreadable or
    /// empty.
    public static func current(
        _ environment: [String: String] = ProcessInfo.processInfo.environment,
        read: (String) -> String? = { try? String(contentsOfFile: $0, encoding: .utf8) }
    ) throws(Problem) -> PBSAllocation? {
        guard let jobID = environment["PBS_JOBID"], !jobID.isEmpty else { return nil }
        guard let path = environment["PBS_NODEFILE"], !path.isEmpty else {
            throw Problem(description: "PBS job \(jobID): PBS_NODEFILE is not set")
        }
        guard let text = read(path) else { throw Problem(description: "PBS job \(jobID): cannot read PBS_NODEFILE \(path)") }
        let lines: [String]
        do { lines = try Hostlist.parseHostfile(text, path: path) } catch {
            if case .empty = error { throw Problem(description: "PBS job \(jobID): PBS_NODEFILE \(path) names no host") }
            throw Problem(description: "PBS job \(jobID): \(error)")
        }
        var hosts: [String] = []
        var slots: [String: Int] = [:]
        for host in lines {
            if slots[host] == nil { hosts.append(host) }
            slots[host, default: 0] += 1
        }
        return PBSAllocation(jobID: jobID, nodefile: path, hosts: hosts, slots: slots)
    }

    /// The hosts of a job of `count` nodes (default: all) on `hostlist` (default: the nodefile's order).
    public func select(nodes count: Int?, hostlist: [String]?) throws(Problem) -> [String] {
        var chosen = hosts
        if let hostlist {
            if let outside = hostlist.first(where: { slots[$0] == nil }) {
                throw Problem(description: "-w: host '\(outside)' is not in PBS job \(jobID)'s nodefile \(nodefile)")
            }
            chosen = hostlist
        }
        let wanted = count ?? chosen.count
        guard wanted >= 1 else { throw Problem(description: "-N must be at least 1 (got \(wanted))") }
        guard wanted <= chosen.count else {
            throw Problem(description: "-N \(wanted) is more than PBS job \(jobID) has hosts (\(chosen.count) in \(nodefile))")
        }
        return Array(chosen.prefix(wanted))
    }
}
