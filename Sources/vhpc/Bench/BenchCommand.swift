import ArgumentParser

/// `vhpc bench …`: benchmarks that print figures.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Run a benchmark and print its figures.",
        subcommands: [BenchVSECommand.self, BenchVMCommand.self, BenchTopologyCommand.self, BenchWireCommand.self, BenchBootstrapCommand.self, BenchBootstrapModelCommand.self, BenchBootstrapValidateCommand.self, BenchDetectModelCommand.self, BenchDetectCommand.self, BenchStageCommand.self, BenchStageModelCommand.self, BenchClusterCommand.self, BenchLaunchCommand.self, BenchBadExitCommand.self, BenchMPICommand.self, BenchPMICommand.self, BenchDetectLoadCommand.self, BenchSoakCommand.self]
    )
}

/// How benchmarks print a duration: seconds with `decimals` places, or `missing` when there is none.
func benchSeconds(_ value: Duration?, decimals: Int = 2, missing: String = "failed") -> String {
    guard let value else { return missing }
    return String(format: "%.\(decimals)f s", value.seconds)
}

/// How benchmarks print a byte count: B, KiB, MiB or GiB with one decimal.
func benchBytes(_ count: Int) -> String {
    let units = ["B", "KiB", "MiB", "GiB"]
    var value = Double(count)
    var unit = 0
    while value >= 1024, unit < units.count - 1 {
        value /= 1024
        unit += 1
    }
    return unit == 0 ? "\(count) B" : String(format: "%.1f ", value) + units[unit]
}
