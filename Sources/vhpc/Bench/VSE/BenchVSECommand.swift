import ArgumentParser
import Benchmarks

/// `vhpc bench`'s options for ``VSEBenchmark`` (which runs the benchmark and prints its figures).
struct BenchVSECommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "vse", abstract: "Image build and boot benchmark (prints figures).")

    @Option(help: "Repetitions for tiny builds and boots.") var runs = 5
    @Option(help: "Repetitions for the Debian cold build (each downloads packages).") var debianRuns = 2
    @Flag(help: "Skip the Debian example.") var skipDebian = false
    @Option(help: "The busybox example.") var tiny = "examples/tiny.yaml"
    @Option(help: "The Debian example.") var debian = "examples/debian.yaml"

    func run() async throws {
        LoggingSetup.bootstrap(verbose: false)
        let tinySpec = try CLIErrors.loadSpec(tiny)
        let debianSpec = skipDebian ? nil : try CLIErrors.loadSpec(debian)
        try await VSEBenchmark(runs: runs, debianRuns: debianRuns, tiny: tinySpec, debian: debianSpec).run()
    }
}
