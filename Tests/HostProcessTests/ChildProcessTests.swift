import Foundation
import Testing
@testable import HostProcess

/// `ChildProcess` and `ChildReaper`: exits seen without polling, kept for later looks, timeouts.
@Suite struct ChildProcessTests {
    @Test(.timeLimit(.minutes(1))) func anExitIsSeenAndKept() async throws {
        let child = try await ChildProcess.spawn(["/bin/sh", "-c", "exit 5"])
        #expect(await child.waitForExit(timeout: .seconds(30)) == .exited(5))
        #expect(child.termination == .exited(5) && !child.isRunning)
        #expect(await child.waitForExit(timeout: .zero) == .exited(5), "a second wait sees the same end")
    }

    @Test(.timeLimit(.minutes(1))) func aTimeoutReturnsNilAndTheChildCanBeKilled() async throws {
        let child = try await ChildProcess.spawn(["sleep", "30"])
        #expect(await child.waitForExit(timeout: .milliseconds(100)) == nil)
        #expect(child.isRunning)
        await child.killAndReap()
        #expect(child.termination == .signaled(SIGKILL))
    }

    @Test(.timeLimit(.minutes(1))) func outputGoesToTheGivenFile() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("child-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let child = try await ChildProcess.spawn(["/bin/sh", "-c", "echo out; echo err >&2"], stdoutPath: path)
        #expect(await child.waitForExit(timeout: .seconds(30)) == .exited(0))
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "out\nerr\n")
    }

    @Test func aMissingProgramIsASpawnError() async {
        await #expect(throws: SpawnError.self) { try await ChildProcess.spawn(["vhpc-no-such-program"]) }
    }

    @Test func terminationsDecodeWaitStatuses() {
        #expect(Termination(waitStatus: 3 << 8) == .exited(3))
        #expect(Termination(waitStatus: 9) == .signaled(9))
        #expect(Termination.signaled(15).code == 143 && Termination.exited(2).code == 2)
        #expect(Termination.signaled(9).description == "killed by signal 9")
    }
}
