import ArgumentParser

/// `vhpc bench wire` (owned by the Wire work).
struct BenchWireCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "wire", abstract: "Codec and MAC throughput benchmark.")
    func run() async throws { throw ValidationError("not implemented yet") }
}
