import Foundation
import VSE

/// Runs short helper commands (qemu-img, xl, …) to completion and captures their output: VSE's
/// `HostCommand` (stdout and stderr drained at once, the child killed on Ctrl-C) off the caller's thread.
enum CommandRunner {
    struct Output: Sendable {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs `argv` (argv[0] an absolute path) and returns its output; throws `commandFailed` on non-zero exit
    /// when `check` is true.
    static func run(_ argv: [String], environment: [String: String]? = nil, check: Bool = true) async throws(V2MError) -> Output {
        let command = HostCommand(argv[0], Array(argv.dropFirst()), environment: environment)
        let work = Task.detached { () -> Result<Output, V2MError> in
            do {
                let output = try command.runAllowingFailure()
                return .success(Output(status: output.status, stdout: output.stdoutText, stderr: output.stderrText))
            } catch {
                return .failure(.spawnFailed(command: argv.joined(separator: " "), reason: "\(error)"))
            }
        }
        let output = try await work.value.get()
        if check && output.status != 0 {
            throw .commandFailed(command: argv.joined(separator: " "), status: "exited with status \(output.status)",
                                 output: output.stderr.isEmpty ? output.stdout : output.stderr)
        }
        return output
    }
}
