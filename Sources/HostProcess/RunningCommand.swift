import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A ``HostCommand`` started and not yet awaited (``HostCommand/start()``): its stdout and stderr are drained
/// from the start on reader threads, so the child never blocks on a full pipe however long the caller takes;
/// its end comes from ``ChildReaper``. For callers that act while it runs (signal it, watch its output or
/// its process tree); ``wait()`` collects the ``HostCommand/Output``.
public final class RunningCommand: Sendable {
    /// The child's process id (also its process group id).
    public let pid: pid_t
    private let stdout: StreamCollector
    private let stderr: StreamCollector
    private let state = Mutex<State>(State())

    private struct State {
        var termination: Termination?
        var timedOut = false
    }

    init(pid: pid_t, stdout: Int32, stderr: Int32, timeout: Duration?) {
        self.pid = pid
        self.stdout = StreamCollector(fd: stdout)
        self.stderr = StreamCollector(fd: stderr)
        if let timeout {
            let (seconds, attoseconds) = timeout.components
            DispatchQueue.global().asyncAfter(deadline: .now() + Double(seconds) + Double(attoseconds) / 1e18) { [self] in
                guard isRunning else { return }
                state.withLock { $0.timedOut = true }
                signalGroup(SIGKILL)
            }
        }
    }

    /// True until the child has exited.
    public var isRunning: Bool {
        state.withLock { $0.termination } == nil && !ChildReaper.shared.hasExited(pid)
    }

    /// Sends `signal` to the child (not its group), unless it has ended.
    public func signal(_ signal: Int32) {
        if isRunning { kill(pid, signal) }
    }

    /// Sends `signal` to the child's whole process group.
    public func signalGroup(_ signal: Int32) {
        if isRunning { kill(-pid, signal) }
    }

    /// What it has printed on stdout so far.
    public var stdoutSoFar: String { String(decoding: stdout.data, as: UTF8.self) }

    /// What it has printed on stderr so far.
    public var stderrSoFar: String { String(decoding: stderr.data, as: UTF8.self) }

    /// Blocks until both streams are at end-of-file and the child has exited; what it printed and its status
    /// (137 and ``HostCommand/Output/timedOut`` when the command's timeout killed it). Later calls return the
    /// same.
    public func wait() -> HostCommand.Output {
        let out = stdout.wait(), err = stderr.wait()
        let termination = state.withLock { $0.termination } ?? ChildReaper.shared.waitForTerminationBlocking(pid)
        let timedOut = state.withLock { state in
            state.termination = termination
            return state.timedOut
        }
        ChildGroups.shared.remove(pid)
        return HostCommand.Output(status: termination.code, stdout: out, stderr: err, timedOut: timedOut)
    }

    /// ``wait()`` on a thread of its own, so the caller's task does not block a thread of the pool.
    public func output() async -> HostCommand.Output {
        await withCheckedContinuation { continuation in
            let thread = Thread { continuation.resume(returning: self.wait()) }
            thread.name = "vhpc-command"
            thread.start()
        }
    }
}

/// Reads one descriptor to end-of-file on a thread of its own, keeping what it read; closes it at the end.
private final class StreamCollector: Sendable {
    private let buffer = Mutex<Data>(Data())
    private let done = DispatchSemaphore(value: 0)

    init(fd: Int32) {
        let thread = Thread { [self] in
            var chunk = [UInt8](repeating: 0, count: 65_536)
            while true {
                let count = read(fd, &chunk, chunk.count)
                if count > 0 {
                    self.buffer.withLock { $0.append(contentsOf: chunk[0..<count]) }
                } else if count == 0 || errno != EINTR {
                    break
                }
            }
            close(fd)
            self.done.signal()
        }
        thread.name = "vhpc-drain"
        thread.start()
    }

    /// What was read so far.
    var data: Data { buffer.withLock { $0 } }

    /// Blocks until end-of-file; everything read.
    func wait() -> Data {
        done.wait()
        done.signal()  // a later wait returns at once
        return data
    }
}
