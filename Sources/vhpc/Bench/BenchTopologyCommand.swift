import ArgumentParser

/// `vhpc bench topology` (owned by the Topology work).
struct BenchTopologyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "topology", abstract: "Route computation benchmark.")
    func run() async throws { throw ValidationError("not implemented yet") }
}
