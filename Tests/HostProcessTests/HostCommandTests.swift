import Foundation
import Testing
@testable import HostProcess

/// `HostCommand`: output of any size on both streams at once, exit statuses, failures named.
@Suite struct HostCommandTests {
    /// A child that fills its stderr pipe before writing stdout deadlocks a reader that drains stdout to
    /// end-of-file first (64 KiB pipe buffers); 1 MiB on each stream must come back whole.
    @Test(.timeLimit(.minutes(1))) func aMebibyteOnStderrAndStdoutComesBackWhole() async throws {
        let output = try await HostCommand(
            "/bin/sh", ["-c", "head -c 1048576 /dev/zero | tr '\\0' e >&2; head -c 1048576 /dev/zero | tr '\\0' o"]).output()
        #expect(output.status == 0)
        #expect(output.stderr.count == 1 << 20)
        #expect(output.stdout.count == 1 << 20)
        #expect(output.stderr.allSatisfy { $0 == UInt8(ascii: "e") })
        #expect(output.stdout.allSatisfy { $0 == UInt8(ascii: "o") })
    }

    /// The synchronous run drains both streams the same way (stdout filled while stderr is read, too).
    @Test(.timeLimit(.minutes(1))) func theSynchronousRunDrainsBothStreams() throws {
        let output = try HostCommand(
            "/bin/sh", ["-c", "head -c 262144 /dev/zero | tr '\\0' o; head -c 262144 /dev/zero | tr '\\0' e >&2"]).run()
        #expect(output.stdout.count == 1 << 18 && output.stderr.count == 1 << 18)
    }

    @Test func aFailingCommandIsNamedWithItsStatusAndOutput() async {
        await #expect(throws: HostCommandError.self) {
            try await HostCommand("/bin/sh", ["-c", "echo nope >&2; exit 3"]).output()
        }
        do {
            _ = try HostCommand("/bin/sh", ["-c", "echo nope >&2; exit 3"]).run()
            Issue.record("a failing command succeeded")
        } catch {
            #expect("\(error)" == "command failed with exit status 3: /bin/sh -c 'echo nope >&2; exit 3'\nnope")
        }
        let unchecked = try? await HostCommand("/bin/sh", ["-c", "exit 4"]).output(check: false)
        #expect(unchecked?.status == 4)
    }

    @Test func aKilledCommandReportsOneHundredTwentyEightPlusTheSignal() throws {
        let output = try HostCommand("/bin/sh", ["-c", "kill -9 $$"]).runAllowingFailure()
        #expect(output.status == 128 + 9)
    }

    @Test func aMissingProgramIsNotFound() {
        #expect(throws: HostCommandError.self) { try HostCommand("vhpc-no-such-program", []).run() }
    }

    /// The command runs in its own process group, in the given directory, with the given environment.
    @Test func directoryEnvironmentAndProcessGroup() throws {
        let output = try HostCommand("/bin/sh", ["-c", "pwd; echo $V; ps -o pgid= -p $$; echo $$"],
                                     environment: ["V": "seven", "PATH": "/usr/bin:/bin"], workingDirectory: "/tmp").run()
        let lines = output.stdoutText.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(lines.count == 4)
        #expect(lines.first == "/tmp" && lines.dropFirst().first == "seven")
        #expect(lines.count == 4 && lines[2] == lines[3], "the child leads its own process group")
    }

    /// Ctrl-C's sweep: SIGTERM to each registered group, the whole group gone (a fresh registry: the shared
    /// one holds other tests' commands).
    @Test(.timeLimit(.minutes(1))) func terminateAllEndsEveryGroup() async throws {
        let child = try await ChildProcess.spawn(["/bin/sh", "-c", "sleep 30 & sleep 30; wait"])
        let groups = ChildGroups()
        groups.add(child.pid)
        try await Task.sleep(for: .milliseconds(200))
        groups.terminateAll(grace: .seconds(5))
        #expect(await child.waitForExit(timeout: .seconds(10)) == .signaled(SIGTERM))
        #expect(Self.liveMembers(ofGroup: child.pid).isEmpty, "nothing of the group is left")
    }

    /// Live (not zombie: an orphan's reaping is init's business) processes of a process group, from /proc.
    static func liveMembers(ofGroup group: pid_t) -> [pid_t] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(pid_t.init).filter { pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return false }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 2 && pid_t(fields[2]) == group && fields[0] != "Z" && fields[0] != "X"
        }
    }

    /// A command is in the shared registry while it runs, and out of it once it has finished.
    @Test(.timeLimit(.minutes(1))) func aRunningCommandIsRegistered() async throws {
        async let output = HostCommand("/bin/sh", ["-c", "sleep 1"]).output()
        var seen = false
        for _ in 0..<100 where !seen {
            seen = !ChildGroups.shared.all.isEmpty
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(seen)
        _ = try await output
    }

    /// `input` reaches the child's stdin, which is closed after it (so `cat` ends).
    @Test(.timeLimit(.minutes(1))) func inputIsTheChildsStdin() throws {
        let text = String(repeating: "line\n", count: 50_000)  // more than a pipe holds
        let output = try HostCommand("/bin/cat", [], input: Data(text.utf8)).run()
        #expect(output.stdoutText == text)
    }

    /// A child that exits without reading its input: the write fails (EPIPE), the test process lives on.
    @Test(.timeLimit(.minutes(1))) func inputToAChildThatDoesNotReadIsDropped() throws {
        let output = try HostCommand("/bin/true", [], input: Data(count: 1 << 20)).run()
        #expect(output.status == 0)
    }

    /// A command still running after its timeout is killed with its whole process group, and says so.
    @Test(.timeLimit(.minutes(1))) func aTimeoutKillsTheWholeGroup() throws {
        let started = ContinuousClock.now
        let output = try HostCommand("/bin/sh", ["-c", "sleep 30 & echo $$; sleep 30"], timeout: .milliseconds(300)).runAllowingFailure()
        #expect(ContinuousClock.now - started < .seconds(20))
        #expect(output.timedOut)
        #expect(output.status == 128 + SIGKILL)
        let group = pid_t(output.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        #expect(group > 0)
        // The group got SIGKILL; under load a member may not have been scheduled to die yet when the command
        // returns (its own shell was reaped): allow it a bounded moment, far below the 30 s it would sleep.
        let deadline = ContinuousClock.now + .seconds(5)
        while group > 0, !Self.liveMembers(ofGroup: group).isEmpty, ContinuousClock.now < deadline {
            usleep(10_000)
        }
        #expect(group > 0 && Self.liveMembers(ofGroup: group).isEmpty, "nothing of the group is left")
        let quick = try HostCommand("/bin/sh", ["-c", "exit 0"], timeout: .seconds(30)).run()
        #expect(!quick.timedOut)
    }

    /// A started command: its output can be watched while it runs, it can be signalled, and `wait()`
    /// collects its status and everything it printed.
    @Test(.timeLimit(.minutes(1))) func aStartedCommandIsWatchedSignalledAndCollected() async throws {
        let running = try HostCommand("/bin/sh", ["-c", "trap 'echo got INT; exit 5' INT; echo ready; while :; do sleep 0.05; done"]).start()
        while !running.stdoutSoFar.contains("ready") { try await Task.sleep(for: .milliseconds(10)) }
        #expect(running.isRunning)
        running.signal(SIGINT)
        let output = await running.output()
        #expect(output.status == 5)
        #expect(output.stdoutText == "ready\ngot INT\n")
        #expect(!running.isRunning)
        #expect(running.wait().status == 5, "a second wait returns the same")
    }
}
