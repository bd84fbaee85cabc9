import ArgumentParser
import Benchmarks

/// `vhpc bench`'s options for ``ClusterBenchmark`` (which runs the benchmark and prints its figures).
struct BenchClusterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cluster", abstract: "Time to a running virtual cluster.")

    @Option(help: "VSE spec, image name or id.") var vse: String = "examples/tiny.yaml"
    @Option(help: "Shapes NODESxVMS.") var shapes: [String] = ["1x1", "2x2", "4x2"]
    @Option(help: "Runs per measurement (medians are shown).") var runs: Int = 3

    func validate() throws {
        if runs < 1 { throw ValidationError("--runs must be at least 1") }
    }

    func run() async throws {
        LoggingSetup.bootstrap(verbose: false)
        let image = try VSEBuildCommand.resolveImage(vse, verbose: false)
        try await ClusterBenchmark(image: image, shapes: shapes, runs: runs, prepareSnapshot: VSEBuildCommand.prepareSnapshot).run()
    }
}
