import ArgumentParser
import NodeAgent

/// The `vhpc` command: front-end of the virtual HPC runtime.
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
            AgentCommand.self,
            StatusCommand.self,
            JobsCommand.self,
        ]
    )

    /// Agent processes go straight to their work; everything else through the argument parser.
    static func main() async {
        if let role = NodeAgentProcess.directRole(Array(CommandLine.arguments.dropFirst())) {
            do {
                try await AgentCommand.run(role)
            } catch {
                exit(withError: error)
            }
        }
        await main(nil)
    }

    /// `vhpc --version`.
    static let version = "vhpc 0.9.0"
}
