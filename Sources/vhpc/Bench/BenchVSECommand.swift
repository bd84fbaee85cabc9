import ArgumentParser

/// `vhpc bench vse`.
struct BenchVSECommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "vse", abstract: "Image build and boot benchmark.")
    func run() async throws { throw ValidationError("not implemented yet") }
}
