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

    /// One child of ``spawnBatch(_:)``: the arguments of ``spawnNow(executable:arguments:environment:streams:newProcessGroup:newSession:parentDeathSignal:directory:)``.
    public struct Request: Sendable {
        public var executable: String
        public var arguments: [String]
        public var environment: [String: String]
        public var streams: Streams
        public var newProcessGroup: Bool
        public var newSession: Bool
        public var parentDeathSignal: Int32?
        public var directory: String?
        public init(executable: String, arguments: [String], environment: [String: String], streams: Streams = Streams(),
                    newProcessGroup: Bool, newSession: Bool = false, parentDeathSignal: Int32? = nil, directory: String? = nil) {
            self.executable = executable
            self.arguments = arguments
            self.environment = environment
            self.streams = streams
            self.newProcessGroup = newProcessGroup
            self.newSession = newSession
            self.parentDeathSignal = parentDeathSignal
            self.directory = directory
        }
    }

    /// Starts every request's child at once on the calling thread (see the type's note about parent-death
    /// signals), and waits once, until the last has exec'd: the same outcome as ``spawnNow`` for each in order,
    /// stopping at the first failure (children started after a failed one are killed and reaped), but the
    /// thread does not sleep through each child's start (`vhpc_spawn_batch`). Each started child is registered
    /// with ``ChildReaper``.
    public static func spawnBatch(_ requests: [Request]) -> [Result<pid_t, SpawnError>] {
        spawnBatches([requests])[0]
    }

    /// ``spawnBatch(_:)`` for each of `batches` (independent: a failure ends only its own batch), every child of
    /// every batch started before the thread waits for any to exec: the agents of one process start their
    /// tasks in one wait, not one wait each.
    public static func spawnBatches(_ batches: [[Request]]) -> [[Result<pid_t, SpawnError>]] {
        guard batches.contains(where: { !$0.isEmpty }) else { return batches.map { _ in [] } }
        var strings = CStrings()
        defer { strings.free() }
        ChildReaper.shared.willSpawn()
        let started = batches.map { requests in requests.isEmpty ? nil : StartedBatch(requests: requests, strings: &strings) }
        return zip(batches, started).map { requests, batch in
            (batch?.finish() ?? []).enumerated().map { index, outcome in
                ChildReaper.shared.didSpawn(outcome.pid)
                guard outcome.pid > 0 else {
                    return .failure(SpawnError(executable: requests[index].executable, errorNumber: outcome.error))
                }
                return .success(outcome.pid)
            }
        }
    }

    /// C copies of the strings a batch's children read until they exec (freed once every batch is finished).
    private struct CStrings {
        private var owned: [UnsafeMutablePointer<CChar>?] = []
        private var arrays: [UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>] = []

        mutating func array(_ values: [String]) -> UnsafePointer<UnsafeMutablePointer<CChar>?> {
            let array = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: values.count + 1)
            for (index, value) in values.enumerated() { array[index] = strdup(value) }
            array[values.count] = nil
            owned.append(contentsOf: UnsafeBufferPointer(start: array, count: values.count))
            arrays.append(array)
            return UnsafePointer(array)
        }

        mutating func string(_ value: String?) -> UnsafePointer<CChar>? {
            guard let value else { return nil }
            let copy = strdup(value)
            owned.append(copy)
            return UnsafePointer(copy)
        }

        func free() {
            for pointer in owned { Glibc.free(pointer) }
            for array in arrays { array.deallocate() }
        }
    }

    /// One non-empty batch between `vhpc_spawn_batch_start` and `vhpc_spawn_batch_finish`: its specs and result
    /// slots stay allocated (its children read them) until ``finish()``.
    private struct StartedBatch {
        let specs: UnsafeMutablePointer<vhpc_spawn_spec>
        let pids: UnsafeMutablePointer<pid_t>
        let errors: UnsafeMutablePointer<Int32>
        let batch: OpaquePointer?

        init(requests: [Request], strings: inout CStrings) {
            let count = requests.count
            specs = UnsafeMutablePointer<vhpc_spawn_spec>.allocate(capacity: count)
            for (index, request) in requests.enumerated() {
                specs[index] = vhpc_spawn_spec(
                    path: strings.string(request.executable), cwd: strings.string(request.directory),
                    argv: strings.array([request.executable] + request.arguments),
                    envp: strings.array(request.environment.map { "\($0.key)=\($0.value)" }),
                    stdin_fd: request.streams.stdin, stdout_fd: request.streams.stdout, stderr_fd: request.streams.stderr,
                    extra_fd: request.streams.extraFD,
                    new_process_group: request.newSession ? 2 : request.newProcessGroup ? 1 : 0,
                    pdeathsig: request.parentDeathSignal ?? 0)
            }
            pids = UnsafeMutablePointer<pid_t>.allocate(capacity: count)
            pids.initialize(repeating: -1, count: count)
            errors = UnsafeMutablePointer<Int32>.allocate(capacity: count)
            errors.initialize(repeating: 0, count: count)
            batch = vhpc_spawn_batch_start(specs, Int32(count), pids, errors)
        }

        /// Waits until every child has exec'd; the outcomes up to and including the first failure.
        func finish() -> [(pid: pid_t, error: Int32)] {
            defer {
                specs.deallocate()
                pids.deallocate()
                errors.deallocate()
            }
            let results = Int(vhpc_spawn_batch_finish(batch, pids, errors))
            return (0..<results).map { (pids[$0], errors[$0]) }
        }
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
