import Testing
@testable import NodeAgent

/// Agent processes skip the CLI parser only for the exact command lines launchers write.
@Suite struct DirectRoleTests {
    @Test func launcherCommandLinesAreRecognised() {
        #expect(NodeAgentProcess.directRole(["agent", "--role", "root", "--job", "job-1-2", "--rank", "17"]) == .root)
        #expect(NodeAgentProcess.directRole(["agent", "--role", "step", "--job", "job-1-2"]) == .step)
        #expect(NodeAgentProcess.directRole(["agent", "--role", "root"]) == .root)
    }

    @Test func anythingElseGoesThroughTheParser() {
        #expect(NodeAgentProcess.directRole(["agent", "--help"]) == nil)
        #expect(NodeAgentProcess.directRole(["agent", "--role", "boss", "--job", "x"]) == nil)
        #expect(NodeAgentProcess.directRole(["agent", "--role", "root", "--rank", "x"]) == nil)
        #expect(NodeAgentProcess.directRole(["agent", "--role", "root", "--job"]) == nil)
        #expect(NodeAgentProcess.directRole(["agent", "--role", "root", "--verbose", "1"]) == nil)
        #expect(NodeAgentProcess.directRole(["run", "--role", "root"]) == nil)
        #expect(NodeAgentProcess.directRole([]) == nil)
    }
}
