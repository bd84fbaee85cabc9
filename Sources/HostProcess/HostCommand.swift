import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Runs a host program to completion, capturing its output: the one run-to-completion of vhpc.
///
/// The child is started by ``ProcessSpawner`` in its own process group, stdin from /dev/null (or ``input``);
/// its stdout and stderr are drained at once (each on a reader thread, ``RunningCommand``), so a child that
/// fills one pipe while we read the other cannot deadlock; its exit comes from ``ChildReaper`` (pidfd, no
/// polling). A ``timeout`` kills its process group (SIGKILL) when it runs longer. While it runs its group is
/// in ``ChildGroups``, which ``TerminationSignals/exit(after:)`` ends on Ctrl-C, so no build step outlives the CLI. Failures
/// become `HostCommandError`, which names the command, its exit status and the tail of its stderr.
public struct HostCommand: Sendable {
    public var executable: String
    public var arguments: [String]
    public var environment: [String: String]?
    public var workingDirectory: String?
    /// Bytes written to the child's stdin, which is then closed (nil: stdin is /dev/null).
    public var input: Data?
    /// After this long the child's process group is killed (SIGKILL) and the output says ``Output/timedOut``.
    public var timeout: Duration?

    public init(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                workingDirectory: String? = nil, input: Data? = nil, timeout: Duration? = nil) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.input = input
        self.timeout = timeout
    }

    /// What a finished command printed.
    public struct Output: Sendable {
        /// The exit status, or 128 + signal.
        public var status: Int32
        public var stdout: Data
        public var stderr: Data
        /// Whether the command's ``HostCommand/timeout`` killed it.
        public var timedOut = false
        public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
        public var stderrText: String { String(decoding: stderr, as: UTF8.self) }
    }

    /// Runs and throws unless the exit status is 0.
    @discardableResult
    public func run() throws(HostCommandError) -> Output {
        try checked(runAllowingFailure())
    }

    /// Runs and returns whatever the exit status was; throws only if the program cannot start.
    public func runAllowingFailure() throws(HostCommandError) -> Output {
        try start().wait()
    }

    /// Starts the command and returns at once; ``RunningCommand/wait()`` collects its output. Throws only if
    /// the program cannot start.
    public func start() throws(HostCommandError) -> RunningCommand {
        guard let path = Self.resolve(executable) else { throw .notFound(executable) }
        let output: (read: Int32, write: Int32), errors: (read: Int32, write: Int32)
        var stdin: (read: Int32, write: Int32)?
        do {
            output = try ProcessSpawner.makePipe()
            errors = try ProcessSpawner.makePipe()
            if input != nil { stdin = try ProcessSpawner.makePipe() }
        } catch {
            throw .notFound("\(executable): \(error)")
        }
        let inputFD = stdin?.read ?? open("/dev/null", O_RDONLY | O_CLOEXEC)
        let pid: pid_t
        do {
            pid = try ProcessSpawner.spawnNow(
                executable: path, arguments: arguments, environment: environment ?? ProcessInfo.processInfo.environment,
                streams: .init(stdin: inputFD, stdout: output.write, stderr: errors.write),
                newProcessGroup: true, directory: workingDirectory)
        } catch {
            for fd in [inputFD, output.read, output.write, errors.read, errors.write] + (stdin.map { [$0.write] } ?? []) { close(fd) }
            throw .notFound("\(executable): \(error)")
        }
        ChildGroups.shared.add(pid)
        for fd in [inputFD, output.write, errors.write] { close(fd) }
        if let stdin, let input { Self.feed(stdin.write, input) }
        return RunningCommand(pid: pid, stdout: output.read, stderr: errors.read, timeout: timeout)
    }

    /// Runs on a thread of its own (the caller's task does not block a thread) and throws unless the exit
    /// status is 0 when `check` is set.
    public func output(check: Bool = true) async throws(HostCommandError) -> Output {
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<Output, HostCommandError>, Never>) in
            let thread = Thread {
                continuation.resume(returning: Result { () throws(HostCommandError) -> Output in
                    try check ? run() : runAllowingFailure()
                })
            }
            thread.name = "vhpc-command"
            thread.start()
        }
        return try result.get()
    }

    private func checked(_ output: Output) throws(HostCommandError) -> Output {
        guard output.status == 0 else {
            throw .failed(commandLine: commandLine, status: output.status, stderrTail: Self.tail(output.stderrText + output.stdoutText))
        }
        return output
    }

    /// Writes `data` to `fd` on a thread of its own (the child may read it slowly), then closes it. SIGPIPE is
    /// blocked on that thread: a child that exits without reading makes the write fail (EPIPE), not kill us.
    private static func feed(_ fd: Int32, _ data: Data) {
        let thread = Thread {
            var pipeSignal = sigset_t()
            sigemptyset(&pipeSignal)
            sigaddset(&pipeSignal, SIGPIPE)
            pthread_sigmask(SIG_BLOCK, &pipeSignal, nil)
            data.withUnsafeBytes { writeAll(fd, $0) }
            close(fd)
        }
        thread.name = "vhpc-feed"
        thread.start()
    }

    public var commandLine: String { ([executable] + arguments).map(Self.quoted).joined(separator: " ") }

    /// Absolute path of a program found on PATH (or the path itself if it contains a slash).
    public static func resolve(_ program: String) -> String? { ExecutableLookup.resolve(program) }

    public static func quoted(_ word: String) -> String {
        word.allSatisfy({ $0.isLetter || $0.isNumber || "-_./=:,+@%".contains($0) }) && !word.isEmpty
            ? word : "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    public static func tail(_ text: String, lines: Int = 8) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: true).suffix(lines).joined(separator: "\n")
    }
}

/// A host program that failed or could not be started.
public enum HostCommandError: Error, Sendable, CustomStringConvertible {
    case notFound(String)
    case failed(commandLine: String, status: Int32, stderrTail: String)

    public var description: String {
        switch self {
        case .notFound(let program):
            return "cannot run '\(program)': not found on PATH (run `make deps` to install vhpc's system packages)"
        case .failed(let commandLine, let status, let tail):
            return "command failed with exit status \(status): \(commandLine)" + (tail.isEmpty ? "" : "\n" + tail)
        }
    }
}
