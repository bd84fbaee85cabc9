import Foundation
import HostProcess

/// Runs a host program to completion (Foundation `Process`), capturing its output.
///
/// Failures become `HostCommandError`, which names the command, its exit status and the tail of its
/// stderr. The child runs in its own session and process group, which `HostCommand.terminateRunning()`
/// kills on Ctrl-C so no build step outlives the CLI.
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
        public var status: Int32
        public var stdout: Data
        public var stderr: Data
        public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
        public var stderrText: String { String(decoding: stderr, as: UTF8.self) }
    }

    /// Runs and throws unless the exit status is 0.
    @discardableResult
    public func run() throws(HostCommandError) -> Output {
        let output = try runAllowingFailure()
        guard output.status == 0 else {
            throw .failed(commandLine: commandLine, status: output.status, stderrTail: Self.tail(output.stderrText + output.stdoutText))
        }
        return output
    }

    /// Runs and returns whatever the exit status was; throws only if the program cannot start.
    public func runAllowingFailure() throws(HostCommandError) -> Output {
        guard let path = Self.resolve(executable) else { throw .notFound(executable) }
        let process = Process()
        // Foundation starts the child as the leader of its own process group, so an interrupt can stop
        // it and everything it started (mmdebstrap's apt and dpkg) with one kill(-pgid).
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        if let environment { process.environment = environment }
        if let workingDirectory { process.currentDirectoryURL = URL(fileURLWithPath: workingDirectory) }
        let outPipe = Pipe(), errPipe = Pipe()
        process.standardOutput = outPipe
        process.standardError = errPipe
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch { throw .notFound("\(executable): \(error)") }
        ChildRegistry.shared.add(process.processIdentifier)
        defer { ChildRegistry.shared.remove(process.processIdentifier) }
        // Drain both pipes concurrently so neither can fill up and block the child.
        let stderrBox = DataBox()
        let stderrRead = DispatchSemaphore(value: 0)
        let reader = Thread {
            stderrBox.data = errPipe.fileHandleForReading.readDataToEndOfFile()
            stderrRead.signal()
        }
        reader.start()
        let stdout = outPipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        stderrRead.wait()
        let status = process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
        return Output(status: status, stdout: stdout, stderr: stderrBox.data)
    }

    public var commandLine: String { ([executable] + arguments).map(Self.quoted).joined(separator: " ") }

    /// Absolute path of a program found on PATH (or the path itself if it contains a slash).
    public static func resolve(_ program: String) -> String? { ExecutableLookup.resolve(program) }

    static func quoted(_ word: String) -> String {
        word.allSatisfy({ $0.isLetter || $0.isNumber || "-_./=:,+@%".contains($0) }) && !word.isEmpty
            ? word : "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    static func tail(_ text: String, lines: Int = 8) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: true).suffix(lines).joined(separator: "\n")
    }

    /// Kills every child started by `run()` that is still running (used by the CLI's signal handler).
    public static func terminateRunning() {
        let groups = ChildRegistry.shared.all()
        for pid in groups { kill(-pid, SIGTERM) }
        // Give them up to 5 s to clean up (mmdebstrap unmounts on SIGTERM), then SIGKILL.
        for _ in 0..<100 where groups.contains(where: { kill(-$0, 0) == 0 }) { usleep(50_000) }
        for pid in groups where kill(-pid, 0) == 0 { kill(-pid, SIGKILL) }
    }
}

private final class DataBox: @unchecked Sendable {
    private let lock = NSLock()
    private var _data = Data()
    var data: Data {
        get { lock.withLock { _data } }
        set { lock.withLock { _data = newValue } }
    }
}

/// Pids of running children, so a signal handler can stop them.
final class ChildRegistry: @unchecked Sendable {
    static let shared = ChildRegistry()
    private let lock = NSLock()
    private var pids: Set<pid_t> = []
    func add(_ pid: pid_t) { lock.withLock { _ = pids.insert(pid) } }
    func remove(_ pid: pid_t) { lock.withLock { _ = pids.remove(pid) } }
    func all() -> [pid_t] { lock.withLock { Array(pids) } }
}

/// A host program that failed or could not be started.
public enum HostCommandError: Error, CustomStringConvertible {
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
