import Foundation

/// Runs short helper commands (qemu-img, virsh, …) to completion and captures their output.
enum CommandRunner {
    struct Output: Sendable {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs `argv` (argv[0] an absolute path) and returns its output; throws `commandFailed` on non-zero exit
    /// when `check` is true.
    static func run(_ argv: [String], environment: [String: String]? = nil, check: Bool = true) async throws(V2MError) -> Output {
        let work = Task.detached { () -> Result<Output, V2MError> in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: argv[0])
            process.arguments = Array(argv.dropFirst())
            if let environment { process.environment = environment }
            let out = Pipe(), err = Pipe()
            process.standardOutput = out
            process.standardError = err
            process.standardInput = FileHandle.nullDevice
            do { try process.run() } catch {
                return .failure(.spawnFailed(command: argv.joined(separator: " "), reason: "\(error)"))
            }
            let outData = out.fileHandleForReading.readDataToEndOfFile()
            let errData = err.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return .success(Output(status: process.terminationStatus,
                                   stdout: String(decoding: outData, as: UTF8.self),
                                   stderr: String(decoding: errData, as: UTF8.self)))
        }
        let output = try await work.value.get()
        if check && output.status != 0 {
            throw .commandFailed(command: argv.joined(separator: " "), status: "exited with status \(output.status)",
                                 output: output.stderr.isEmpty ? output.stdout : output.stderr)
        }
        return output
    }
}
