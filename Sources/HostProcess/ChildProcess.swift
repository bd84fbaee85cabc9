import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A started child in its own process group, with its end awaited without polling: ``ChildReaper`` reaps
/// it (pidfd), and the termination is kept here for any number of later looks.
///
/// For children the caller keeps handles to (QEMU, helpers that run in the background); a command run to
/// completion is a ``HostCommand``.
public final class ChildProcess: Sendable {
    /// The child's process id (also its process group id).
    public let pid: pid_t
    private let state = Mutex<State>(State())

    private struct State {
        var termination: Termination?
        var waiters: [Int: CheckedContinuation<Termination?, Never>] = [:]
        var nextToken = 0
    }

    init(pid: pid_t) {
        self.pid = pid
    }

    /// Starts `argv[0]` (an absolute path, or a name looked up on this process's PATH) in a new process
    /// group, stdin from /dev/null, stdout and stderr appended to files (nil: /dev/null; stderr defaults to
    /// stdout's file). Forked on ``SpawnThread`` when `parentDeathSignal` is set.
    public static func spawn(_ argv: [String], environment: [String: String]? = nil,
                             stdoutPath: String? = nil, stderrPath: String? = nil,
                             parentDeathSignal: Int32? = nil) async throws(SpawnError) -> ChildProcess {
        guard let executable = argv.first.flatMap({ ExecutableLookup.resolve($0) }) else {
            throw SpawnError(executable: argv.first ?? "", errorNumber: ENOENT)
        }
        let input = try open("/dev/null", O_RDONLY)
        defer { close(input) }
        let output = try open(stdoutPath ?? "/dev/null", O_WRONLY | O_CREAT | O_APPEND)
        defer { close(output) }
        let errors = stderrPath == nil || stderrPath == stdoutPath ? output : try open(stderrPath!, O_WRONLY | O_CREAT | O_APPEND)
        defer { if errors != output { close(errors) } }
        let pid: pid_t
        do {
            pid = try await ProcessSpawner.spawn(
                executable: executable, arguments: Array(argv.dropFirst()),
                environment: environment ?? ProcessInfo.processInfo.environment,
                streams: .init(stdin: input, stdout: output, stderr: errors),
                newProcessGroup: true, parentDeathSignal: parentDeathSignal)
        } catch let error as SpawnError {
            throw error
        } catch {
            throw SpawnError(executable: executable, errorNumber: EIO)
        }
        let child = ChildProcess(pid: pid)
        Task.detached { child.finish(await ChildReaper.shared.waitForTermination(pid) ?? .unknown) }
        return child
    }

    private static func open(_ path: String, _ flags: Int32) throws(SpawnError) -> Int32 {
        let fd = Glibc.open(path, flags | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SpawnError(executable: path, errorNumber: errno) }
        return fd
    }

    private func finish(_ termination: Termination) {
        let waiters = state.withLock { state in
            state.termination = termination
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume(returning: termination) }
    }

    /// How the child ended, once it has (and been reaped).
    public var termination: Termination? { state.withLock { $0.termination } }

    /// True while the child has not been reaped.
    public var isRunning: Bool { termination == nil }

    /// Waits until the child ends or `timeout` passes; how it ended, or nil on timeout.
    @discardableResult
    public func waitForExit(timeout: Duration) async -> Termination? {
        if let known = termination { return known }
        return await withTaskGroup(of: Termination?.self) { group in
            group.addTask { await self.ended() }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first ?? termination
        }
    }

    /// The termination, or nil if the waiting task is cancelled first.
    private func ended() async -> Termination? {
        let token = state.withLock { state in
            state.nextToken += 1
            return state.nextToken
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let known: Termination?? = state.withLock { state in
                    if let termination = state.termination { return .some(termination) }
                    if Task.isCancelled { return .some(nil) }
                    state.waiters[token] = continuation
                    return .none
                }
                if let known { continuation.resume(returning: known) }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: token) }?.resume(returning: nil)
        }
    }

    /// Sends a signal to the child's whole process group.
    public func signalGroup(_ signal: Int32) {
        guard isRunning else { return }
        kill(-pid, signal)
    }

    /// SIGKILL to the group, then waits until it is reaped (at most 5 s).
    public func killAndReap() async {
        signalGroup(SIGKILL)
        kill(pid, SIGKILL)
        await waitForExit(timeout: .seconds(5))
    }
}
