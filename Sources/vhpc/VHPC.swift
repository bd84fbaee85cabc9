import ArgumentParser
import Control
import Foundation

/// The `vhpc` command: front-end of the virtual HPC runtime.
///
/// Every command names itself (`commandName:`): ArgumentParser builds the whole command tree at each start,
/// and a name it has to derive from the type is a `String(describing:)` of it — conformance scans over the
/// binary's ~9,000 records, 1.1 ms of each `vhpc --version` for the two commands that lacked one.
@main
struct VHPC: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vhpc",
        abstract: "Run parallel applications inside virtual machines on HPC clusters.",
        version: VHPC.version,
        subcommands: [
            VSECommand.self,
            VMCommand.self,
            TopologyCommand.self,
            BenchCommand.self,
            RunCommand.self,
            AgentsCommand.self,
            StatusCommand.self,
            JobsCommand.self,
        ]
    )

    /// Every command through the argument parser (agent processes are `vhpc-agent`, a program of their own).
    static func main() async {
        do {
            // `vhpc run` (the command whose start-up is on every job's critical path) is parsed by the same
            // parser with `run` as its root, which builds RunCommand's argument set twice rather than four times
            // (the root's parser builds it twice to ask whether `run` captures its program's arguments) and
            // skips the tree of every subcommand; run directly, not through an existential cast (a conformance
            // lookup that scans every conformance record of the binary).
            if let runArguments = RunCommand.rootedArguments(Array(CommandLine.arguments.dropFirst())) {
                EventLoopWarmUp.start()  // beside the single-threaded parse
                JobRecordWriter.openEarly()
                let run = try RunCommand.parse(runArguments)
                try await run.run()
                return
            }
            var command = try parseAsRoot()
            if var asynchronous = command as? any AsyncParsableCommand {
                try await asynchronous.run()
            } else {
                try command.run()
            }
        } catch let error where error is ExitCode || exitCode(for: error) == .success {
            exit(withError: error)  // our own exits (the message is printed), --help, --version
        } catch {
            // A usage error (unknown option, malformed value, failed check): one line, without the usage text.
            CLIErrors.printError("vhpc: " + oneLine(message(for: error)))
            Foundation.exit(exitCode(for: error).rawValue)
        }
    }

    /// The parser's message on one line: a list of choices (`  - auto` lines) becomes `auto, qemu, …`.
    static func oneLine(_ message: String) -> String {
        var text: [String] = []
        var choices: [String] = []
        for line in message.split(whereSeparator: \.isNewline).map({ $0.trimmingCharacters(in: .whitespaces) }) where !line.isEmpty {
            if line.hasPrefix("- ") { choices.append(String(line.dropFirst(2))) } else { text.append(line) }
        }
        return (text + (choices.isEmpty ? [] : [choices.joined(separator: ", ")])).joined(separator: " ")
    }

    /// `vhpc --version`.
    static let version = "vhpc 0.9.0"
}
