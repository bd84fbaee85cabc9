import HostProcess
#if canImport(Glibc)
import Glibc
#endif

/// Why a task could not start, with one exit-code rule for every backend (processes, ssh, VMs), the shell's:
/// 127 command not found, 126 found but not executable, 1 working directory unusable.
public enum TaskStartFailure: Error, Sendable, Hashable, CustomStringConvertible {
    case notFound(String)
    case notExecutable(String, reason: String)
    case badDirectory(String, reason: String)

    public var status: Int32 {
        switch self {
        case .notFound: 127
        case .notExecutable: 126
        case .badDirectory: 1
        }
    }

    public var description: String {
        switch self {
        case .notFound(let name): "command not found: \(name)"
        case .notExecutable(let name, let reason): "cannot execute \(name): \(reason)"
        case .badDirectory(let path, let reason): "cannot change to directory \(path): \(reason)"
        }
    }

    /// Whether a node's message for a task's exit is one of these (the task never ran), as opposed to, say,
    /// an MPI_Abort's.
    public static func describes(_ message: String) -> Bool {
        ["command not found: ", "cannot execute ", "cannot change to directory "].contains { message.hasPrefix($0) }
    }

    /// Why `name` cannot be run with search path `path` (call when ``ExecutableLookup/resolve(_:path:)``
    /// found nothing): a file that exists but is not executable (or is a directory) is 126, else 127.
    /// `shownAs` is the name the user gave, when `name` was made absolute.
    public static func lookup(_ name: String, path: String?, shownAs: String? = nil) -> TaskStartFailure {
        let shown = shownAs ?? name
        let candidates: [String]
        if name.contains("/") {
            candidates = [name]
        } else {
            let searchPath = path ?? "/usr/local/bin:/usr/bin:/bin"
            candidates = searchPath.split(separator: ":", omittingEmptySubsequences: false).map {
                ($0.isEmpty ? "." : String($0)) + "/" + name
            }
        }
        for candidate in candidates {
            var info = stat()
            guard stat(candidate, &info) == 0 else { continue }
            if (info.st_mode & S_IFMT) == S_IFDIR { return .notExecutable(name.contains("/") ? shown : candidate, reason: "is a directory") }
            if access(candidate, X_OK) != 0 { return .notExecutable(name.contains("/") ? shown : candidate, reason: "permission denied") }
        }
        return .notFound(shown)
    }

    /// Classifies a failed exec by its errno (ENOENT: not found; EACCES, ENOEXEC, EISDIR…: not executable).
    public static func exec(_ name: String, errorNumber: Int32) -> TaskStartFailure {
        errorNumber == ENOENT ? .notFound(name) : .notExecutable(name, reason: String(cString: strerror(errorNumber)))
    }

    /// The guest agent's spawn failure text (`NAME: strerror`, or `cannot change to directory DIR: strerror`),
    /// classified the same way.
    public static func guest(_ name: String, reason: String) -> TaskStartFailure {
        let cause = reason.lastIndex(of: ":").map { String(reason[reason.index(after: $0)...].drop { $0 == " " }) } ?? reason
        let directoryPrefix = "cannot change to directory "
        if reason.hasPrefix(directoryPrefix), let colon = reason.lastIndex(of: ":") {
            return .badDirectory(String(reason[reason.index(reason.startIndex, offsetBy: directoryPrefix.count)..<colon]), reason: cause)
        }
        if cause == String(cString: strerror(ENOENT)) { return .notFound(name) }
        return .notExecutable(name, reason: cause)
    }
}
