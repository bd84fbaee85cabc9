import Foundation
import HostProcess

/// Where Slurm reaches a node: its `NodeAddr` (which may differ from its name, e.g. when node names are not
/// in DNS), from `scontrol show node -o`.
public enum SlurmNodeAddress {
    /// The `NodeAddr=` field of one `scontrol show node -o` line; nil if absent.
    public static func parse(_ output: String) -> String? {
        for word in output.split(whereSeparator: { $0 == " " || $0 == "\n" }) where word.hasPrefix("NodeAddr=") {
            let value = String(word.dropFirst("NodeAddr=".count))
            return value.isEmpty || value == "(null)" ? nil : value
        }
        return nil
    }

    /// `node`'s address in Slurm job `jobID`, remembered for that job in `<cacheDirectory>/slurm-node-address`
    /// (one line: job, node, address), so the later `vhpc run`s of one allocation (a batch script's steps) do
    /// not each start scontrol and ask slurmctld while their step starts; another job asks again. A failed
    /// look-up is not remembered.
    public static func lookup(_ node: String, jobID: String, cacheDirectory: String,
                              scontrol: String? = ExecutableLookup.resolve("scontrol")) -> String? {
        let cache = CacheLine(file: cacheDirectory + "/slurm-node-address")
        let key = "\(jobID) \(node) "
        if let line = cache.read(), line.hasPrefix(key) {
            let address = line.dropFirst(key.count)
            if !address.isEmpty, !address.contains(" ") { return String(address) }
        }
        guard !jobID.contains(" "), !node.contains(" "), let address = lookup(node, scontrol: scontrol) else { return nil }
        cache.write(key + address)
        return address
    }

    /// Asks `scontrol` for `node`'s address; nil when scontrol fails or does not say.
    public static func lookup(_ node: String, scontrol: String? = ExecutableLookup.resolve("scontrol")) -> String? {
        guard let scontrol, let output = CommandOutput.stdout(of: scontrol, ["show", "node", "-o", node]) else { return nil }
        return parse(output)
    }
}
