import CHostProcess
#if canImport(Glibc)
import Glibc
#endif

/// Starts child processes: fork/exec through a tiny C shim so the child can get its own process group and a
/// parent-death signal before exec, and so a missing program is an error here, not a dead child later.
///
/// Spawns that ask for a parent-death signal run on HostProcess's ``SpawnThread`` (the process's one forking
/// thread for them, shared with V2M): Linux delivers that signal when the *thread* that forked exits, and
/// Swift's cooperative pool threads may come and go.
public enum ProcessSpawner {
    /// Standard streams of a child: inherit ours, or use a given descriptor; and optionally one more
    /// descriptor the child gets as fd 3 (``extraFD``).
    public struct Streams: Sendable {
        public var stdin: Int32
        public var stdout: Int32
        public var stderr: Int32
        /// Passed to the child as fd 3 (a task's `PMI_FD`), or -1.
        public var extraFD: Int32
        public init(stdin: Int32 = -1, stdout: Int32 = -1, stderr: Int32 = -1, extraFD: Int32 = -1) {
            self.stdin = stdin
            self.stdout = stdout
            self.stderr = stderr
            self.extraFD = extraFD
        }
    }

    /// Starts `executable` (an absolute path), in `directory` if given. Registers the child with ``ChildReaper`` before returning.
    /// `newSession` puts the child in a session of its own (`setsid`, which makes its process group too): what
    /// hydra and the guest agent do for MPI ranks. With the kernel's autogroup scheduling (on by default) every
    /// session is one group for CPU fairness, so tasks left in the user's session share that one group's share
    /// of a busy machine, while each of hydra's ranks gets one of its own.
    public static func spawn(
        executable: String,
        arguments: [String],
        environment: [String: String],
        streams: Streams = Streams(),
        newProcessGroup: Bool,
        newSession: Bool = false,
        parentDeathSignal: Int32? = nil,
        directory: String? = nil
    ) async throws -> pid_t {
        let work: @Sendable () throws -> pid_t = {
            try spawnNow(
                executable: executable, arguments: arguments, environment: environment, streams: streams,
                newProcessGroup: newProcessGroup, newSession: newSession, parentDeathSignal: parentDeathSignal,
                directory: directory)
        }
        if parentDeathSignal != nil {
            return try await SpawnThread.shared.perform(work)
        }
        return try work()
    }

    /// Synchronous spawn on the calling thread (see the type's note about parent-death signals).
    public static func spawnNow(
        executable: String,
        arguments: [String],
        environment: [String: String],
        streams: Streams = Streams(),
        newProcessGroup: Bool,
        newSession: Bool = false,
        parentDeathSignal: Int32? = nil,
        directory: String? = nil
    ) throws(SpawnError) -> pid_t {
        let argv = [executable] + arguments
        let envp = environment.map { "\($0.key)=\($0.value)" }
        var failure: Int32 = 0
        let pid = withCStrings(argv) { cArgv in
            withCStrings(envp) { cEnvp in
                ChildReaper.shared.willSpawn()
                return vhpc_spawn(
                    executable, directory, cArgv, cEnvp, streams.stdin, streams.stdout, streams.stderr, streams.extraFD,
                    newSession ? 2 : newProcessGroup ? 1 : 0, parentDeathSignal ?? 0, &failure)
            }
        }
        ChildReaper.shared.didSpawn(pid)
        guard pid > 0 else { throw SpawnError(executable: executable, errorNumber: failure) }
        return pid
    }

    /// A close-on-exec pipe: (read end, write end).
    public static func makePipe() throws(SpawnError) -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        guard vhpc_pipe_cloexec(&fds) == 0 else { throw SpawnError(executable: "pipe", errorNumber: errno) }
        return (fds[0], fds[1])
    }

    /// Makes this process the reaper of orphaned descendants (`PR_SET_CHILD_SUBREAPER`).
    public static func becomeSubreaper() {
        _ = vhpc_set_child_subreaper()
        ChildReaper.shared.reapAllChildren()
    }

    private static func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
        var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
        pointers.append(nil)
        defer { for pointer in pointers { free(pointer) } }
        return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}
