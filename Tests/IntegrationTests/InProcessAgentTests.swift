import Foundation
import Testing

/// Local jobs whose agents all fit in one agent process (one node; 16 nodes and more) host them in the
/// front-end (`InProcessAgentSpawner`): no `vhpc-agent` process, the tasks are the front-end's children. The
/// job's semantics stay: exit codes, Ctrl-C, a second Ctrl-C, the front-end's death, nothing left running.
@Suite(.serialized, .timeLimit(.minutes(3))) struct InProcessAgentTests {
    @Test(arguments: [1, 16, 64])
    func tasksAreTheFrontEndsChildrenAndCtrlCEndsThem(nodes: Int) async throws {
        let job = try ControlFaultTests.Job(["run", "-N", "\(nodes)", "--", "sleep", "60"])
        defer { try? FileManager.default.removeItem(atPath: job.state) }
        let tree = try await job.waitFor { $0.filter { $0.command == "sleep" }.count == nodes }
        let frontEnd = job.process.pid
        #expect(tree.filter { $0.command == "vhpc-agent" }.isEmpty, "an agent process was started: \(tree)")
        #expect(tree.allSatisfy { $0.parent == frontEnd }, "\(tree)")
        let sent = ContinuousClock.now
        kill(frontEnd, SIGINT)
        let result = job.finish()
        #expect(result.status == 128 + SIGINT, "\(result.stderr)")
        #expect(ContinuousClock.now - sent < .seconds(10))
        #expect(job.survivors().isEmpty, "left running: \(job.survivors())")
        for pid in job.survivors() { kill(pid, SIGKILL) }
    }

    @Test func aFailingTasksCodeAndSignalReachTheExitStatus() throws {
        let failing = try CLI.run(["run", "-N", "16", "-K", "0", "--", "sh", "-c", "[ $VHPC_RANK = 5 ] && exit 7; exit 0"])
        #expect(failing.status == 7, "\(failing.stderr)")
        #expect(failing.stderr.contains("vhpc: task 5 (node 5): exited with exit code 7"), "\(failing.stderr)")
        let one = try CLI.run(["run", "--", "sh", "-c", "echo out; exit 3"])
        #expect(one.status == 3, "\(one.stderr)")
        #expect(one.stdout == "out\n")
        let signalled = try CLI.run(["run", "-N", "16", "--", "sh", "-c", "[ $VHPC_RANK = 9 ] && kill -SEGV $$; sleep 30"])
        #expect(signalled.status == 128 + SIGSEGV, "\(signalled.stderr)")
        let missing = try CLI.run(["run", "-N", "16", "--", "/no/such/program"])
        #expect(missing.status == 127, "\(missing.stderr)")
    }

    /// Two Ctrl-Cs in a row: the second exits at once after SIGKILLing the tasks' process groups (the sweep an
    /// agent process's group got), and nothing is left running.
    @Test func aSecondCtrlCEndsEverythingAtOnce() async throws {
        let job = try ControlFaultTests.Job(["run", "-N", "16", "--", "sh", "-c", "trap '' TERM; while :; do sleep 1; done"])
        defer { try? FileManager.default.removeItem(atPath: job.state) }
        _ = try await job.waitFor { $0.filter { $0.command == "sh" }.count == 16 }
        let sent = ContinuousClock.now
        kill(job.process.pid, SIGINT)
        try await Task.sleep(for: .milliseconds(100))  // two signals: not merged into one pending
        kill(job.process.pid, SIGINT)
        let result = job.finish()
        #expect(result.status == 128 + SIGINT, "\(result.stderr)")
        #expect(ContinuousClock.now - sent < .seconds(5))
        try await Self.expectNothingLeft(job)
    }

    /// kill -9 of the front-end takes the tasks with it (their parent-death signal), as it took the agent.
    @Test func killingTheFrontEndEndsItsTasks() async throws {
        let job = try ControlFaultTests.Job(["run", "-N", "16", "--", "sleep", "60"])
        defer { try? FileManager.default.removeItem(atPath: job.state) }
        _ = try await job.waitFor { $0.filter { $0.command == "sleep" }.count == 16 }
        kill(job.process.pid, SIGKILL)
        _ = job.finish()
        try await Self.expectNothingLeft(job)
    }

    /// Two to fifteen nodes keep a process per node (an agent can fail alone).
    @Test func smallMultiNodeJobsKeepAnAgentProcessPerNode() async throws {
        let job = try ControlFaultTests.Job(["run", "-N", "3", "--", "sleep", "60"])
        defer { try? FileManager.default.removeItem(atPath: job.state) }
        let tree = try await job.waitFor { $0.filter { $0.command == "sleep" }.count == 3 }
        #expect(tree.filter { $0.command == "vhpc-agent" }.count == 3, "\(tree)")
        kill(job.process.pid, SIGTERM)
        #expect(job.finish().status == 128 + SIGTERM)
        #expect(job.survivors().isEmpty, "left running: \(job.survivors())")
        for pid in job.survivors() { kill(pid, SIGKILL) }
    }

    /// Every process seen under the front-end is gone within 5 s (SIGKILL parent-death signals are asynchronous).
    static func expectNothingLeft(_ job: ControlFaultTests.Job) async throws {
        let deadline = ContinuousClock.now + .seconds(5)
        while !job.survivors().isEmpty, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(job.survivors().isEmpty, "left running: \(job.survivors())")
        for pid in job.survivors() { kill(pid, SIGKILL) }
    }
}
