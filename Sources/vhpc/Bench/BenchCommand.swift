import ArgumentParser

/// `vhpc bench …`: benchmarks that print figures.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Run a benchmark and print its figures.",
        subcommands: [BenchVSECommand.self, BenchVMCommand.self, BenchTopologyCommand.self, BenchWireCommand.self, BenchBootstrapCommand.self, BenchDetectCommand.self, BenchStageCommand.self, BenchClusterCommand.self]
    )
}
