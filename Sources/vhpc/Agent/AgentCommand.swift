import ArgumentParser
import Foundation
import NodeAgent

/// `vhpc agent --role root`: one agent process of a job (started by the front-end or a parent agent, never by
/// hand). Reads its configuration, with the job secret, from stdin; the work is ``NodeAgentProcess``'s.
struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Run a vhpc agent (started by `vhpc run`; configuration on stdin).",
        shouldDisplay: false
    )

    @Option(help: "Agent role: root (started by its parent) or step (one of a job step's agents, rank from the resource manager).")
    var role: String = "root"
    @Option(help: "Job id (informational; the configuration on stdin is authoritative).") var job: String?
    @Option(help: "First rank hosted (informational).") var rank: Int?

    func run() async throws {
        guard let role = NodeAgentProcess.Role(rawValue: role) else { throw CLIErrors.fail("unknown agent role '\(role)'") }
        try await Self.run(role)
    }

    static func run(_ role: NodeAgentProcess.Role) async throws -> Never {
        let code: Int32
        do {
            code = try await NodeAgentProcess.run(role: role)
        } catch let error as NodeAgentError {
            throw CLIErrors.fail(error.description)
        }
        Foundation.exit(code)
    }
}
