import ArgumentParser

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

    /// `vhpc --version`.
    static let version = "vhpc 0.9.0"
}
