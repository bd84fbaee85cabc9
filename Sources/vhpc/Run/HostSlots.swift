/// A hostfile's slots (`host slots=N`, or a host named N times) as mpirun reads them: N tasks on that host.
/// vhpc places the same number of tasks on every node, so every host must have the same count.
enum HostSlots {
    /// The distinct hosts in first-seen order and their (common) slot count.
    static func uniform(_ hosts: [String], source: String) throws -> (hosts: [String], slots: Int) {
        var order: [String] = []
        var counts: [String: Int] = [:]
        for host in hosts {
            if counts[host] == nil { order.append(host) }
            counts[host, default: 0] += 1
        }
        let distinct = Set(counts.values)
        guard distinct.count <= 1 else {
            let listed = order.prefix(4).map { "\($0): \(counts[$0]!)" }.joined(separator: ", ")
            throw CLIErrors.fail("hostfile \(source): hosts have different slot counts (\(listed)\(order.count > 4 ? ", …" : "")); vhpc runs the same number of tasks on every node: give them equal slots, or choose with -n / --ntasks-per-node")
        }
        return (order, distinct.first ?? 1)
    }
}
