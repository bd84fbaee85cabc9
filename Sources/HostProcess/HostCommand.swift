import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Runs a host program to completion, capturing its output: the one run-to-completion of vhpc.
///
/// The child is started by ``ProcessSpawner`` in its own process group, stdin from /dev/null; its stdout and
/// stderr are drained at once (one on a reader thread), so a child that fills one pipe while we read the
/// other cannot deadlock; its exit comes from ``ChildReaper`` (pidfd, no polling). While it runs its group is
/// in ``ChildGroups``, which ``TerminationSignals/exit(after:)`` ends on Ctrl-C, so no build step outlives the CLI. Failures
/// become `HostCommandError`, which names the command, its exit status and the tail of its stderr.
public struct HostCommand: Sendable {
    public var executable: String
    public var arguments: [String]
    public var environment: [String: String]?
    public var workingDirectory: String?

    public init(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                workingDirectory: String? = nil) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.workingDirectory = workingDirectory
    }

    /// What a finished command printed.
    public struct Output: Sendable {
        /// The exit status, or 128 + signal.
        public var status: Int32
        public var stdout: Data
        public var stderr: Data
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
        guard let path = Self.resolve(executable) else { throw .notFound(executable) }
        let output: (read: Int32, write: Int32), errors: (read: Int32, write: Int32)
        do {
            output = try ProcessSpawner.makePipe()
            errors = try ProcessSpawner.makePipe()
        } catch {
            throw .notFound("\(executable): \(error)")
        }
        let input = open("/dev/null", O_RDONLY | O_CLOEXEC)
        let pid: pid_t
        do {
            pid = try ProcessSpawner.spawnNow(
                executable: path, arguments: arguments, environment: environment ?? ProcessInfo.processInfo.environment,
                streams: .init(stdin: input, stdout: output.write, stderr: errors.write),
                newProcessGroup: true, directory: workingDirectory)
        } catch {
            for fd in [input, output.read, output.write, errors.read, errors.write] { close(fd) }
            throw .notFound("\(executable): \(error)")
        }
        ChildGroups.shared.add(pid)
        defer { ChildGroups.shared.remove(pid) }
        for fd in [input, output.write, errors.write] { close(fd) }
        let (stdout, stderr) = Self.drain(output.read, errors.read)
        let termination = ChildReaper.shared.waitForTerminationBlocking(pid)
        return Output(status: termination.code, stdout: stdout, stderr: stderr)
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

    /// Reads two descriptors to end-of-file at the same time (the second on a reader thread) and closes them.
    static func drain(_ first: Int32, _ second: Int32) -> (Data, Data) {
        let secondData = Mutex<Data>(Data())
        let secondDone = DispatchSemaphore(value: 0)
        let reader = Thread {
            secondData.withLock { $0 = readToEnd(second) }
            secondDone.signal()
        }
        reader.name = "vhpc-drain"
        reader.start()
        let firstData = readToEnd(first)
        secondDone.wait()
        close(first)
        close(second)
        return (firstData, secondData.withLock { $0 })
    }

    private static func readToEnd(_ fd: Int32) -> Data {
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = read(fd, &buffer, buffer.count)
            if count > 0 {
                data.append(contentsOf: buffer[0..<count])
            } else if count == 0 || errno != EINTR {
                return data
            }
        }
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
