import Control
#if canImport(Glibc)
import Glibc
#endif

/// How a node applies `vhpc run --export` and `--chdir` (see ``TaskEnvironment``).
extension NodeTaskPlan {
    /// Whether the tasks get only what the front-end exported (`--export NONE` or a list).
    public var exportsOnly: Bool { environment[TaskEnvironment.exportOnlyVariable] == "1" }

    /// Whether `--chdir` was given.
    public var chdirRequired: Bool { environment[TaskEnvironment.chdirRequiredVariable] == "1" }

    /// The environment a process task starts from on this node: the agent's own (`nodeEnvironment`), or
    /// only its ``TaskEnvironment/nodeBasics`` under `--export NONE` or a list.
    /// An outer MPI launcher's variables (`PMI_FD`…) are never passed on: they would mislead the tasks' MPI.
    public func processBase(_ nodeEnvironment: [String: String]) -> [String: String] {
        guard exportsOnly else { return nodeEnvironment.filter { !TaskEnvironment.isLauncherVariable($0.key) } }
        return nodeEnvironment.filter { TaskEnvironment.nodeBasics.contains($0.key) }
    }

    /// Where process tasks start on this node (see ``TaskEnvironment``).
    public func processDirectory(home: String?) throws(TaskStartFailure) -> String {
        if TaskEnvironment.isUsableDirectory(workingDirectory) { return workingDirectory }
        if chdirRequired {
            var info = stat()
            let reason = stat(workingDirectory, &info) != 0 ? String(cString: strerror(errno))
                : (info.st_mode & S_IFMT) != S_IFDIR ? "not a directory" : "permission denied"
            throw .badDirectory(workingDirectory, reason: reason)
        }
        if let home, TaskEnvironment.isUsableDirectory(home) { return home }
        return "/"
    }
}
