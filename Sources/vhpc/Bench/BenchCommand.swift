import ArgumentParser

/// `vhpc bench …`: benchmarks that print figures.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Run a benchmark and print its figures.",
        subcommands: [BenchVSECommand.self, BenchVMCommand.self, BenchTopologyCommand.self, BenchWireCommand.self, BenchBootstrapCommand.self, BenchBootstrapModelCommand.self, BenchBootstrapValidateCommand.self, BenchDetectModelCommand.self, BenchDetectCommand.self, BenchStageCommand.self, BenchStageModelCommand.self, BenchClusterCommand.self, BenchLaunchCommand.self, BenchBadExitCommand.self, BenchMPICommand.self, BenchPMICommand.self, BenchDetectLoadCommand.self, BenchSoakCommand.self]
    )
}
