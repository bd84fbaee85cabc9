#if canImport(Glibc)
import Glibc
#endif

/// `vhpc run --export` and `--chdir`: what the front-end sends in the launch, and how nodes apply it.
///
/// - `ALL` (the default, as srun): the front-end's environment minus ``hostOnlyNames`` and
///   ``hostOnlyPrefixes`` (its own host and session, vhpc's and an outer MPI launcher's variables), over the
///   node agent's own environment (with the local launcher that is the front-end's own: it is the same host).
/// - `NONE`, or a list `VAR[,VAR=value]…` without `ALL`: only those, over the node's ``nodeBasics``.
/// - In VMs, the image's own values of ``vmHostOnlyNames`` (PATH, HOME, …) win.
/// - Working directory: `--chdir DIR` must exist on the node (in the guest for VMs), else the task fails
///   (exit 1); by default the front-end's directory where it exists on the node, else the node's HOME, else
///   `/`; in VMs `/`.
public enum TaskEnvironment {
    /// Launch variable: "1" when the tasks get only what the front-end exported (plus ``nodeBasics``).
    public static let exportOnlyVariable = "VHPC_EXPORT_ONLY"
    /// Launch variable: "1" when `--chdir` was given (a missing directory fails the task).
    public static let chdirRequiredVariable = "VHPC_CHDIR_REQUIRED"

    /// Not exported by `ALL`: they describe the front-end's host or login session.
    public static let hostOnlyNames: Set<String> = [
        "HOSTNAME", "PWD", "OLDPWD", "SHLVL", "_", "DISPLAY", "XAUTHORITY", "XDG_RUNTIME_DIR", "DBUS_SESSION_BUS_ADDRESS",
        "TMUX", "TMUX_PANE", "STY", "WINDOW", "WINDOWID", "TERM_SESSION_ID", "KRB5CCNAME", "MAIL", "GPG_AGENT_INFO",
    ]
    /// Not exported by `ALL`: vhpc's own control variables (set per job), an outer MPI launcher's, ssh's and
    /// the desktop session's.
    public static let hostOnlyPrefixes = ["VHPC_", "PMI_", "PMIX_", "OMPI_", "HYDRA_", "SSH_", "XDG_SESSION_"]
    /// What a node keeps of its own environment under `--export NONE` or a list.
    public static let nodeBasics = ["PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "TZ"]
    /// Not passed into VMs: host paths and identities the guest does not share.
    public static let vmHostOnlyNames: Set<String> = [
        "PATH", "HOME", "USER", "LOGNAME", "SHELL", "LD_LIBRARY_PATH", "LD_PRELOAD", "TMPDIR",
    ]

    /// Why an `--export` value was refused.
    public struct ExportError: Error, CustomStringConvertible {
        public var description: String
    }

    /// The variables `--export spec` sends from `environment`, and whether they are all the tasks get.
    public static func exported(_ spec: String, from environment: [String: String]) throws(ExportError)
        -> (variables: [String: String], only: Bool) {
        var variables: [String: String] = [:]
        var only = true
        for item in spec.split(separator: ",", omittingEmptySubsequences: true).map(String.init) {
            switch item.uppercased() {
            case "ALL":
                only = false
                for (name, value) in environment where isExportedByDefault(name) { variables[name] = value }
            case "NONE":
                continue
            default:
                let name = String(item.prefix { $0 != "=" })
                guard isValidName(name) else {
                    throw ExportError(description: "--export: '\(item)' is not ALL, NONE, VAR or VAR=value")
                }
                guard !name.hasPrefix("VHPC_") else {
                    throw ExportError(description: "--export: \(name): VHPC_* variables are set by vhpc for each task")
                }
                if item.contains("=") {
                    variables[name] = String(item.dropFirst(name.count + 1))
                } else if let value = environment[name] {
                    variables[name] = value
                }
            }
        }
        return (variables, only)
    }

    /// An MPI launcher's variable (PMI_*, PMIX_*, OMPI_*, HYDRA_*).
    public static func isLauncherVariable(_ name: String) -> Bool {
        ["PMI_", "PMIX_", "OMPI_", "HYDRA_"].contains { name.hasPrefix($0) }
    }

    /// Whether `ALL` sends `name`.
    public static func isExportedByDefault(_ name: String) -> Bool {
        !hostOnlyNames.contains(name) && !hostOnlyPrefixes.contains { name.hasPrefix($0) } && !name.hasPrefix("BASH_FUNC_")
    }

    private static func isValidName(_ name: String) -> Bool {
        guard let first = name.utf8.first, first == UInt8(ascii: "_") || (first | 0x20) >= UInt8(ascii: "a") && (first | 0x20) <= UInt8(ascii: "z") else {
            return false
        }
        return name.utf8.allSatisfy { $0 == UInt8(ascii: "_") || ($0 | 0x20) >= UInt8(ascii: "a") && ($0 | 0x20) <= UInt8(ascii: "z") || $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }

    /// Whether `path` is a directory this process can enter.
    public static func isUsableDirectory(_ path: String) -> Bool {
        var info = stat()
        return !path.isEmpty && stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR && access(path, X_OK) == 0
    }
}
