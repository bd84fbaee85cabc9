import ArgumentParser

/// `vhpc topology` (owned by the Topology work).
struct TopologyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "topology", abstract: "Show a topology, its routes and its failure behaviour.")
    func run() async throws { throw ValidationError("not implemented yet") }
}
