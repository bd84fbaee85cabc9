import Launch
import Testing

/// `vhpc-agent`'s command line: what launchers write, what the agent reads back, where the program is found.
@Suite struct AgentExecutableTests {
    @Test func readsTheArgumentsLaunchersWrite() {
        #expect(AgentExecutable.role(AgentExecutable.arguments(role: .root, jobID: "job-1-2", rank: 17)) == .root)
        #expect(AgentExecutable.role(AgentExecutable.arguments(role: .step, jobID: "job-1-2")) == .step)
        #expect(AgentExecutable.role(["--role", "root"]) == .root)
    }

    @Test func refusesAnythingElse() {
        #expect(AgentExecutable.role([]) == nil)
        #expect(AgentExecutable.role(["--help"]) == nil)
        #expect(AgentExecutable.role(["--role", "boss", "--job", "x"]) == nil)
        #expect(AgentExecutable.role(["--role", "root", "--rank", "x"]) == nil)
        #expect(AgentExecutable.role(["--role", "root", "--job"]) == nil)
        #expect(AgentExecutable.role(["--role", "root", "--verbose", "1"]) == nil)
        #expect(AgentExecutable.role(["agent", "--role", "root"]) == nil)
    }

    @Test func isFoundBesideTheRunningProgram() {
        #expect(AgentExecutable.beside("/opt/vhpc/bin/vhpc") == "/opt/vhpc/bin/vhpc-agent")
        #expect(AgentExecutable.beside("/opt/vhpc/bin/vhpc-agent") == "/opt/vhpc/bin/vhpc-agent")
        #expect(AgentExecutable.beside("vhpc") == "vhpc-agent")
    }

    @Test func aMissingAgentIsOneErrorNamingItsPath() throws {
        #expect(throws: Never.self) { try AgentExecutable.check("/bin/sh") }
        let error = try #require(throws: AgentExecutable.Missing.self) { try AgentExecutable.check("/nonexistent/bin/vhpc-agent") }
        #expect(error.description.hasPrefix("no node agent at /nonexistent/bin/vhpc-agent: "))
        #expect(!error.description.contains("\n"))
    }
}
