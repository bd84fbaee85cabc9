import ArgumentParser

/// `vhpc vm …` (owned by the V2M work).
struct VMCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "vm", abstract: "Start, pause, resume, stop and migrate VMs.")
    func run() async throws { throw ValidationError("not implemented yet") }
}
