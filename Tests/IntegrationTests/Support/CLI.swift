import Foundation
import HostProcess

/// Runs the real `vhpc` executable (built next to the test bundle) as a child process.
enum CLI {
    /// Directory holding the built products (`.build/debug`).
    static var productsDirectory: String {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var directory = (exe as NSString).deletingLastPathComponent
        while !directory.isEmpty, directory != "/", !FileManager.default.fileExists(atPath: directory + "/vhpc") {
            directory = (directory as NSString).deletingLastPathComponent
        }
        return directory
    }

    static var vhpc: String { productsDirectory + "/vhpc" }

    /// The integration tests' shared state directory (kept between runs so kernels and images are reused).
    static var stateDirectory: String {
        let path = (productsDirectory as NSString).deletingLastPathComponent + "/integration-state"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static var repositoryRoot: String {
        var directory = productsDirectory
        while directory != "/", !FileManager.default.fileExists(atPath: directory + "/Package.swift") {
            directory = (directory as NSString).deletingLastPathComponent
        }
        return directory
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func environment(_ extra: [String: String] = [:]) -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["VHPC_HOME"] = stateDirectory
        env.merge(extra) { _, new in new }
        return env
    }

    /// Runs `vhpc ARGS` to completion. A child still running after `timeout` is killed (SIGKILL, its
    /// process group) and the run reported as status 137 with a note on stderr: a hung command fails its test
    /// instead of hanging the whole suite.
    static func run(_ arguments: [String], environment extra: [String: String] = [:],
                    timeout: Duration = .seconds(600)) throws -> Result {
        try run(program: vhpc, arguments, environment: extra, timeout: timeout)
    }

    /// Runs any program the same way (e.g. `salloc … vhpc run …`), with the same watchdog, through
    /// HostProcess's `HostCommand` (stdin: `input`, then closed; nil: /dev/null).
    static func run(program: String, _ arguments: [String], environment extra: [String: String] = [:],
                    directory: String = repositoryRoot, input: String? = nil, timeout: Duration = .seconds(600)) throws -> Result {
        let output = try command(program, arguments, environment: extra, directory: directory, input: input, timeout: timeout)
            .runAllowingFailure()
        if output.timedOut {
            FileHandle.standardError.write(Data("CLI watchdog: `\(program) \(arguments.joined(separator: " "))` still running after \(timeout); killed it\n".utf8))
        }
        return Result(status: output.status, stdout: output.stdoutText, stderr: output.stderrText)
    }

    /// `program ARGS` as a `HostCommand` with the tests' environment (`VHPC_HOME` and `extra`), run in the
    /// repository; `start()` it for a process to watch or signal while it runs.
    static func command(_ program: String = vhpc, _ arguments: [String], environment extra: [String: String] = [:],
                        directory: String = repositoryRoot, input: String? = nil, timeout: Duration? = nil) -> HostCommand {
        HostCommand(program, arguments, environment: environment(extra), workingDirectory: directory,
                    input: input.map { Data($0.utf8) }, timeout: timeout)
    }
}

extension RunningCommand {
    /// The first line the command writes to stderr, once it is whole; nil if the command ends or `timeout`
    /// passes first.
    func firstStderrLine(timeout: Duration = .seconds(60)) -> String? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let running = isRunning
            let text = stderrSoFar
            if let newline = text.firstIndex(of: "\n") { return String(text[..<newline]) }
            if !running { return nil }
            Thread.sleep(forTimeInterval: 0.01)
        }
        return nil
    }
}

/// A Data value handed from a reader thread to the waiting test.
final class SendableData: @unchecked Sendable {
    private let condition = NSCondition()
    private var data: Data?

    func set(_ value: Data) {
        condition.lock()
        data = value
        condition.signal()
        condition.unlock()
    }

    func wait() -> Data {
        condition.lock()
        defer { condition.unlock() }
        while data == nil { condition.wait() }
        return data!
    }
}
