import Foundation
import Launch
import NodeAgent

// `vhpc-agent --role root|step [--job J] [--rank N]`: one agent process of a job, started by `vhpc run` (or a
// parent agent) through a launcher, never by hand; its configuration, with the job secret, comes on stdin.
// The node's side of vhpc as its own small program (NodeAgent and what it needs, no CLI): see AgentExecutable.

/// Prints `vhpc-agent: message` to stderr (write(2): a closed stderr must not trap).
func fail(_ message: String, code: Int32) -> Never {
    let bytes = Array("vhpc-agent: \(message)\n".utf8)
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    exit(code)
}

guard let role = AgentExecutable.role(Array(CommandLine.arguments.dropFirst())) else {
    fail("usage: vhpc-agent --role root|step [--job ID] [--rank N] (started by `vhpc run`, configuration on stdin)", code: 2)
}
do {
    exit(try await NodeAgentProcess.run(role: role))
} catch {
    fail("\(error)", code: 1)
}
