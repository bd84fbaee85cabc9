import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The ssh client that stands for one remote process started by ``SSHLauncher``.
///
/// `pid` is the local ssh client, leader of its own process group. ``signal(_:)`` signals that group: killing
/// the client closes the connection, which closes the remote process's stdin (see ``SSHLauncher`` for the
/// lifetime contract). ``waitForExit()`` returns the remote exit status as ssh reports it (255 when the
/// connection failed or the remote process was killed by a signal).
public final class SSHProcess: LaunchedProcess, Sendable {
    /// How `launch` learned the outcome of the start.
    enum StartOutcome: Sendable {
        case started
        case failed(status: Int32, standardError: String)
        case timedOut
        case cancelled
    }

    /// Which of the client's output pipes a reader serves.
    enum Stream: Sendable { case output, error }

    private struct State {
        var standardInput: Int32
        var startMarker: [UInt8]
        var started = false
        var preamble: [UInt8] = []
        var startOutcome: StartOutcome?
        var startWaiter: CheckedContinuation<StartOutcome, Never>?
        var exitStatus: Int32?
        var openStreams: Set<Stream>
        var exitWaiters: [Int: CheckedContinuation<Int32, Never>] = [:]
        var nextWaiterToken = 0
        var capturedOutput: [UInt8] = []
        var capturedError: [UInt8] = []
        var isFinished: Bool { exitStatus != nil && openStreams.isEmpty }
    }

    public let host: String
    public let pid: Int32
    /// The remote command as shown in messages (program and arguments).
    public let command: String
    private let options: SSHOptions
    private let state: Mutex<State>

    init(host: String, pid: Int32, command: String, options: SSHOptions, standardInput: Int32, startMarker: String,
         readsOutput: Bool) {
        self.host = host
        self.pid = pid
        self.command = command
        self.options = options
        var streams: Set<Stream> = [.error]
        if readsOutput { streams.insert(.output) }
        state = Mutex(State(standardInput: standardInput, startMarker: Array((startMarker + "\n").utf8), openStreams: streams))
    }

    // MARK: LaunchedProcess

    /// Sends `signal` to the ssh client's process group (nothing once the client has exited, so a recycled
    /// pid is never hit).
    public func signal(_ signal: Int32) {
        let running = state.withLock { $0.exitStatus == nil }
        if running { kill(-pid, signal) }
    }

    /// Waits until the ssh client has exited and its output has been read to the end; returns its exit status
    /// (the remote program's status; 255 for a connection failure, a signal-killed remote program, or a
    /// client ended by SIGTERM/SIGINT/SIGHUP, which OpenSSH catches; 128 + signal for SIGKILL).
    /// If the waiting task is cancelled first, returns -1 (the client keeps running; wait again later).
    public func waitForExit() async -> Int32 {
        let token = state.withLock { state -> Int in
            state.nextWaiterToken += 1
            return state.nextWaiterToken
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let ready: Int32? = state.withLock { state in
                    if state.isFinished { return state.exitStatus }
                    if Task.isCancelled { return -1 }
                    state.exitWaiters[token] = continuation
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            let waiter = state.withLock { $0.exitWaiters.removeValue(forKey: token) }
            waiter?.resume(returning: -1)
        }
    }

    // MARK: Extras

    /// Closes the client's stdin: the remote process reads end-of-file, which for a vhpc agent means "my
    /// launcher is gone, terminate". Idempotent.
    public func closeStandardInput() {
        let fd = state.withLock { state -> Int32 in
            defer { state.standardInput = -1 }
            return state.standardInput
        }
        if fd >= 0 { close(fd) }
    }

    /// The remote stdout read so far (only with ``SSHOptions/Output/capture``; complete after
    /// ``waitForExit()``).
    public func capturedOutput() -> [UInt8] { state.withLock { $0.capturedOutput } }

    /// The remote stderr read so far, after the start (only with ``SSHOptions/Output/capture``).
    public func capturedError() -> [UInt8] { state.withLock { $0.capturedError } }

    /// Whether the ssh client has exited (and been reaped).
    public var hasExited: Bool { state.withLock { $0.exitStatus != nil } }

    // MARK: Launcher side

    /// Waits for the start marker, the client's early death, or an outcome set by ``resolveStart(_:)``.
    func waitForStart() async -> StartOutcome {
        await withCheckedContinuation { continuation in
            let ready: StartOutcome? = state.withLock { state in
                if let outcome = state.startOutcome { return outcome }
                state.startWaiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    /// Sets the start outcome unless one is already known (first wins).
    func resolveStart(_ outcome: StartOutcome) {
        let waiter = state.withLock { state -> CheckedContinuation<StartOutcome, Never>? in
            guard state.startOutcome == nil else { return nil }
            state.startOutcome = outcome
            defer { state.startWaiter = nil }
            return state.startWaiter
        }
        waiter?.resume(returning: outcome)
    }

    /// Bytes ssh wrote to stderr before the start (its own diagnostics), for the failure reason.
    var preambleText: String { state.withLock { String(decoding: $0.preamble, as: UTF8.self) } }

    /// Called by the exit monitor once the reaper has the client's status.
    func didExit(status: Int32) {
        let fd = state.withLock { state -> Int32 in
            state.exitStatus = status
            defer { state.standardInput = -1 }
            return state.standardInput
        }
        if fd >= 0 { close(fd) }
        settle()
    }

    /// Called by a reader thread with bytes from one of the client's pipes.
    func received(_ bytes: ArraySlice<UInt8>, on stream: Stream) {
        var forward: ArraySlice<UInt8> = []
        var justStarted = false
        state.withLock { state in
            if stream == .error && !state.started {
                state.preamble += bytes
                guard let end = Self.endOfMarker(state.startMarker, in: state.preamble) else { return }
                state.started = true
                justStarted = true
                forward = state.preamble[end...]
                state.preamble.removeSubrange(end...)
            } else {
                forward = bytes
            }
            if !forward.isEmpty && disposition(of: stream) == .capture {
                if stream == .output { state.capturedOutput += forward } else { state.capturedError += forward }
            }
        }
        if justStarted { resolveStart(.started) }
        if !forward.isEmpty && disposition(of: stream) == .inherit {
            Self.writeAll(forward, to: stream == .output ? 1 : 2)
        }
    }

    /// Called by a reader thread at end-of-file.
    func streamClosed(_ stream: Stream) {
        state.withLock { _ = $0.openStreams.remove(stream) }
        settle()
    }

    /// Resolves waiters once the client has exited and every pipe is drained.
    private func settle() {
        let (finishedStatus, waiters, failedStart) = state.withLock { state -> (Int32?, [CheckedContinuation<Int32, Never>], StartOutcome?) in
            guard state.isFinished, let status = state.exitStatus else { return (nil, [], nil) }
            let waiters = Array(state.exitWaiters.values)
            state.exitWaiters = [:]
            let failed: StartOutcome? = state.started
                ? nil : .failed(status: status, standardError: String(decoding: state.preamble, as: UTF8.self))
            return (status, waiters, failed)
        }
        guard let finishedStatus else { return }
        if let failedStart { resolveStart(failedStart) }
        for waiter in waiters { waiter.resume(returning: finishedStatus) }
    }

    private func disposition(of stream: Stream) -> SSHOptions.Output {
        stream == .output ? options.standardOutput : options.standardError
    }

    /// The index just past the first occurrence of `marker` (which ends in a newline) at a line start.
    static func endOfMarker(_ marker: [UInt8], in bytes: [UInt8]) -> Int? {
        guard bytes.count >= marker.count else { return nil }
        var start = 0
        while start + marker.count <= bytes.count {
            if (start == 0 || bytes[start - 1] == UInt8(ascii: "\n")) && bytes[start..<(start + marker.count)].elementsEqual(marker) {
                return start + marker.count
            }
            start += 1
        }
        return nil
    }

    static func writeAll(_ bytes: ArraySlice<UInt8>, to fd: Int32) {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = write(fd, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 && errno == EINTR { continue }
                if written <= 0 { return }
                offset += written
            }
        }
    }
}
