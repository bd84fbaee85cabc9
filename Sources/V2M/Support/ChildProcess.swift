import Foundation
import HostProcess
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A child process started with `posix_spawn` in its own process group.
///
/// Spawns happen on one long-lived thread (`SpawnThread`): Linux delivers a `PR_SET_PDEATHSIG` signal when
/// the *thread* that forked the child exits, so children started under `setpriv --pdeathsig KILL` must be
/// forked by a thread that lives as long as the process.
public final class ChildProcess: Sendable {
    /// The child's process id (also its process group id).
    public let pid: pid_t
    private let status = Mutex<Int32?>(nil)

    init(pid: pid_t) { self.pid = pid }

    /// Starts `argv[0]` (looked up in PATH by the caller) with its output sent to files (or /dev/null).
    static func spawn(_ argv: [String], environment: [String: String]? = nil,
                      stdoutPath: String? = nil, stderrPath: String? = nil) throws(V2MError) -> ChildProcess {
        let result = SpawnThread.shared.run { () -> Result<pid_t, V2MError> in
            var actions = posix_spawn_file_actions_t()
            posix_spawn_file_actions_init(&actions)
            defer { posix_spawn_file_actions_destroy(&actions) }
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 1, stdoutPath ?? "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0o644)
            posix_spawn_file_actions_addopen(&actions, 2, stderrPath ?? stdoutPath ?? "/dev/null",
                                             O_WRONLY | O_CREAT | O_APPEND, 0o644)
            // Do not leak this process's descriptors (sockets, pipes) into the child.
            if let closeFrom = closeFromAction { _ = closeFrom(&actions, 3) }
            var attributes = posix_spawnattr_t()
            posix_spawnattr_init(&attributes)
            defer { posix_spawnattr_destroy(&attributes) }
            posix_spawnattr_setpgroup(&attributes, 0)
            var defaultSignals = sigset_t()
            sigemptyset(&defaultSignals)
            sigaddset(&defaultSignals, SIGPIPE)
            sigaddset(&defaultSignals, SIGTERM)
            sigaddset(&defaultSignals, SIGINT)
            posix_spawnattr_setsigdefault(&attributes, &defaultSignals)
            var emptyMask = sigset_t()
            sigemptyset(&emptyMask)
            posix_spawnattr_setsigmask(&attributes, &emptyMask)
            posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
            let env = (environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
            var pid: pid_t = 0
            let rc = withCStrings(argv) { cArgv in
                withCStrings(env) { cEnv in
                    posix_spawnp(&pid, argv[0], &actions, &attributes, cArgv, cEnv)
                }
            }
            if rc != 0 {
                return .failure(.spawnFailed(command: argv.joined(separator: " "), reason: String(cString: strerror(rc))))
            }
            return .success(pid)
        }
        return ChildProcess(pid: try result.get())
    }

    /// The raw wait status once the child has been reaped.
    public var exitStatus: Int32? {
        if let known = status.withLock({ $0 }) { return known }
        var raw: Int32 = 0
        let rc = waitpid(pid, &raw, WNOHANG)
        if rc == pid {
            status.withLock { $0 = raw }
            return raw
        }
        if rc < 0 && errno == ECHILD {
            // Reaped elsewhere or not our child: treat as gone if the pid no longer exists.
            if kill(pid, 0) != 0 && errno == ESRCH {
                status.withLock { $0 = 0 }
                return 0
            }
        }
        return nil
    }

    /// True while the process has not exited.
    public var isRunning: Bool { exitStatus == nil }

    /// Waits (polling every `interval`) until the child exits or `timeout` passes; returns the wait status.
    @discardableResult
    public func waitForExit(timeout: Duration, interval: Duration = .milliseconds(20)) async -> Int32? {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while true {
            if let status = exitStatus { return status }
            if clock.now >= deadline { return nil }
            try? await Task.sleep(for: interval)
        }
    }

    /// Sends a signal to the child's whole process group.
    public func signalGroup(_ signal: Int32) {
        guard isRunning else { return }
        kill(-pid, signal)
    }

    /// SIGKILL to the group, then reaps.
    public func killAndReap() async {
        signalGroup(SIGKILL)
        kill(pid, SIGKILL)
        await waitForExit(timeout: .seconds(5))
    }

    /// Human description of a wait status: "exited with status 1", "killed by signal 9".
    public static func describe(status raw: Int32) -> String {
        let termSignal = raw & 0x7f
        if termSignal == 0 { return "exited with status \((raw >> 8) & 0xff)" }
        return "killed by signal \(termSignal)"
    }

    /// True when the status says the process died from a signal.
    public static func wasSignaled(_ raw: Int32) -> Bool {
        let termSignal = raw & 0x7f
        return termSignal != 0 && termSignal != 0x7f
    }
}

/// glibc ≥ 2.34's `posix_spawn_file_actions_addclosefrom_np`, which Swift's Glibc module does not import.
private let closeFromAction: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32)? = {
    guard let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else { return nil }
    return unsafeBitCast(symbol, to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self)
}()

func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
    var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    pointers.append(nil)
    defer { for p in pointers { free(p) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
