import Testing
@testable import V2M

/// `CommandRunner`: output of any size on both streams at once, exit statuses, failures named.
@Suite struct CommandRunnerTests {
    /// A child that fills its stderr pipe before writing stdout used to deadlock a reader that drained stdout
    /// to end-of-file first (64 KiB pipe buffers); 1 MiB on each stream must come back whole.
    @Test(.timeLimit(.minutes(1))) func aMebibyteOnStderrAndStdoutComesBackWhole() async throws {
        let output = try await CommandRunner.run(
            ["/bin/sh", "-c", "head -c 1048576 /dev/zero | tr '\\0' e >&2; head -c 1048576 /dev/zero | tr '\\0' o"])
        #expect(output.status == 0)
        #expect(output.stderr.utf8.count == 1 << 20)
        #expect(output.stdout.utf8.count == 1 << 20)
        #expect(output.stderr.utf8.allSatisfy { $0 == UInt8(ascii: "e") })
    }

    @Test func aFailingCommandIsNamedWithItsStatusAndOutput() async {
        await #expect(throws: V2MError.commandFailed(command: "/bin/sh -c echo nope >&2; exit 3", status: "exited with status 3", output: "nope\n")) {
            try await CommandRunner.run(["/bin/sh", "-c", "echo nope >&2; exit 3"])
        }
        let unchecked = try? await CommandRunner.run(["/bin/sh", "-c", "exit 4"], check: false)
        #expect(unchecked?.status == 4)
    }
}
