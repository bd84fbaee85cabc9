import HostProcess

/// The node agent's executable, `vhpc-agent`: every agent process of a job (local, ssh, PBS, a Slurm step)
/// runs it, not the `vhpc` front-end. It links only what an agent needs (no argument parser, job history, YAML
/// reader for the CLI, benchmarks or metrics endpoint), so each agent's start maps, relocates and searches a
/// smaller binary, like hydra's `pmi_proxy` or PRRTE's `prted`. It is installed next to `vhpc`; on other
/// nodes vhpc expects it at the same path.
public enum AgentExecutable {
    /// The program's file name.
    public static let name = "vhpc-agent"

    /// How an agent process was started.
    public enum Role: String, Sendable {
        /// Started by the front-end or a parent agent (through a launcher).
        case root
        /// One of a job step's agents (its rank from the resource manager).
        case step
        /// A node's resident agent (`vhpc agents start`): one of a job step of its own that outlives jobs, and
        /// starts each later job's agent on its node as a step would (see `ResidentAgents`).
        case resident
    }

    /// The command line a launcher gives `vhpc-agent` (``role(_:)`` reads it back). `--job` and `--rank` are
    /// informational (the configuration on stdin is authoritative): they name the job's processes in `ps` and
    /// let a sweep find them (`JobProcessScan`). A step's keeper (CStepKeeper) recognises `--role step` first.
    public static func arguments(role: Role, jobID: String, rank: Int? = nil) -> [String] {
        ["--role", role.rawValue, "--job", jobID] + (rank.map { ["--rank", String($0)] } ?? [])
    }

    /// The role of `--role R [--job J] [--rank N]` exactly as ``arguments(role:jobID:rank:)`` writes it, else
    /// nil.
    public static func role(_ arguments: [String]) -> Role? {
        guard arguments.count >= 2, arguments.count % 2 == 0, arguments[0] == "--role",
              let role = Role(rawValue: arguments[1]) else { return nil }
        var rest = arguments.dropFirst(2)
        while let option = rest.popFirst(), let value = rest.popFirst() {
            switch option {
            case "--job": continue
            case "--rank": guard Int(value) != nil else { return nil }
            default: return nil
            }
        }
        return role
    }

    /// `vhpc-agent` in the directory of `executable` (by default the running program: the front-end's
    /// `vhpc`, or an agent's own `vhpc-agent`).
    public static func beside(_ executable: String = ExecutableLookup.currentExecutable()) -> String {
        guard let slash = executable.lastIndex(of: "/") else { return name }
        return String(executable[...slash]) + name
    }

    /// Throws ``AgentExecutable/Missing`` when there is no executable file at `path` (checked on this machine,
    /// before any node is asked to run it).
    public static func check(_ path: String) throws {
        guard ExecutableLookup.resolve(path) == nil else { return }
        throw Missing(path: path)
    }

    /// No node agent where vhpc looks for it.
    public struct Missing: Error, CustomStringConvertible, Sendable {
        public var path: String
        public var description: String {
            "no node agent at \(path): \(AgentExecutable.name) is installed next to vhpc (`make release`, or `swift build --product \(AgentExecutable.name)`)"
        }
    }
}
