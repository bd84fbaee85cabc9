import Foundation

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

    /// Runs `vhpc ARGS` to completion. A child still running after `timeout` is killed (SIGKILL) and the
    /// run reported as status 137 with a note on stderr: a hung command fails its test instead of hanging
    /// the whole suite.
    static func run(_ arguments: [String], environment extra: [String: String] = [:],
                    timeout: Duration = .seconds(600)) throws -> Result {
        try run(program: vhpc, arguments, environment: extra, timeout: timeout)
    }

    /// Runs any program the same way (e.g. `salloc … vhpc run …`), with the same watchdog.
    static func run(program: String, _ arguments: [String], environment extra: [String: String] = [:],
                    timeout: Duration = .seconds(600)) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        process.environment = environment(extra)
        process.currentDirectoryURL = URL(fileURLWithPath: repositoryRoot)
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let pid = process.processIdentifier
        let watchdog = DispatchWorkItem {
            FileHandle.standardError.write(Data("CLI watchdog: `\(program) \(arguments.joined(separator: " "))` (pid \(pid)) still running after \(timeout); killing it\n".utf8))
            kill(pid, SIGKILL)
        }
        let (seconds, attoseconds) = timeout.components
        DispatchQueue.global().asyncAfter(deadline: .now() + Double(seconds) + Double(attoseconds) / 1e18, execute: watchdog)
        defer { watchdog.cancel() }
        let errData = SendableData()
        let reader = Thread { errData.set(err.fileHandleForReading.readDataToEndOfFile()) }
        reader.start()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let stderr = errData.wait()
        return Result(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: stderr, as: UTF8.self))
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
