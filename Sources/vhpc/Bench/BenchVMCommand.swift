import ArgumentParser

/// `vhpc bench vm` (owned by the V2M work).
struct BenchVMCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "vm", abstract: "VM lifecycle latency benchmark.")
    func run() async throws { throw ValidationError("not implemented yet") }
}
