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

    /// Asks `scontrol` for `node`'s address; nil when scontrol fails or does not say.
    public static func lookup(_ node: String, scontrol: String? = ExecutableLookup.resolve("scontrol")) -> String? {
        guard let scontrol, let output = CommandOutput.stdout(of: scontrol, ["show", "node", "-o", node]) else { return nil }
        return parse(output)
    }
}
