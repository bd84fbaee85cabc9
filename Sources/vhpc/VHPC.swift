import ArgumentParser

/// The `vhpc` command: front-end of the virtual HPC runtime.
@main
struct VHPC: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vhpc",
        abstract: "Run parallel applications inside virtual machines on HPC clusters.",
        subcommands: [
            VSECommand.self,
            VMCommand.self,
            TopologyCommand.self,
            BenchCommand.self,
            RunCommand.self,
            AgentCommand.self,
            StatusCommand.self,
        ]
    )
}
