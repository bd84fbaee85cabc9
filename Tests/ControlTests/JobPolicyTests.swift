import Testing

@testable import Control

/// The job policy on a manual clock: no processes, no sleeps.
@Suite struct JobPolicyTests {
    @Test func badExitEndsTheJobWithTheFailedTasksCode() {
        var policy = JobPolicy(configuration: .init(killWait: .seconds(2), giveUpAfter: .seconds(3)), taskCount: 4)
        #expect(policy.handle(.taskExited(TaskEnd(task: 0, node: 0, status: 0)), now: .milliseconds(10)).isEmpty)
        let failed = TaskEnd(task: 2, node: 1, status: 3)
        let actions = policy.handle(.taskExited(failed), now: .milliseconds(100))
        #expect(actions.first == .reportFailure(failed))
        #expect(actions.last == .signalTasks(15))
        #expect(actions.contains { if case .notice = $0 { true } else { false } })
        // The tasks it terminated are consequences: not reported, and the exit code stays 3.
        #expect(policy.handle(.taskExited(TaskEnd(task: 1, node: 0, status: 143)), now: .milliseconds(150)).isEmpty)
        #expect(policy.exitCode(highestTaskStatus: 143) == 3)
        // A task that ignores SIGTERM gets SIGKILL after the kill wait, then the job gives up on it.
        #expect(policy.handle(.tick, now: .milliseconds(2000)).isEmpty)
        #expect(policy.handle(.tick, now: .milliseconds(2100)) == [.signalTasks(9)])
        #expect(policy.handle(.tick, now: .milliseconds(5000)).isEmpty)
        guard case .end = policy.handle(.tick, now: .milliseconds(5100)).first else {
            Issue.record("no end after SIGKILL + give-up time")
            return
        }
        #expect(policy.handle(.tick, now: .seconds(60)).isEmpty)
    }

    @Test func withoutKillOnBadExitEveryFailureIsReportedAndTheOthersFinish() {
        var policy = JobPolicy(configuration: .init(killOnBadExit: false), taskCount: 3)
        let first = TaskEnd(task: 0, node: 0, status: 139)
        let second = TaskEnd(task: 2, node: 2, status: 1)
        #expect(policy.handle(.taskExited(first), now: .zero) == [.reportFailure(first)])
        #expect(policy.handle(.tick, now: .seconds(100)).isEmpty)
        #expect(policy.handle(.taskExited(second), now: .seconds(101)) == [.reportFailure(second)])
        #expect(policy.handle(.taskExited(TaskEnd(task: 1, node: 1, status: 0)), now: .seconds(102)).isEmpty)
        #expect(policy.failures == [first, second])
        #expect(policy.exitCode(highestTaskStatus: 139) == 139)
    }

    @Test func afterTheEndOnlyTasksThatCouldNotStartAreReported() {
        var policy = JobPolicy(configuration: .init(), taskCount: 4)
        _ = policy.handle(.taskExited(TaskEnd(task: 1, node: 1, status: 3)), now: .zero)
        // An MPI rank aborting because its peer is gone is a consequence: no line, the exit code stays 3.
        let aborted = TaskEnd(task: 2, node: 2, status: 15, detail: "rank 2 called MPI_Abort (exit code 15)")
        #expect(policy.handle(.taskExited(aborted), now: .milliseconds(5)).isEmpty)
        let missing = TaskEnd(task: 3, node: 3, status: 127, detail: "command not found: x")
        #expect(policy.handle(.taskExited(missing), now: .milliseconds(6)) == [.reportFailure(missing)])
        #expect(policy.exitCode(highestTaskStatus: 127) == 3)
    }

    @Test func anMPIRankLeavingWithoutFinalizeIsAFailureEvenWithStatusZero() {
        var policy = JobPolicy(configuration: .init(killOnBadExit: false), taskCount: 2)
        let left = TaskEnd(task: 1, node: 0, status: 0, detail: "exited without calling MPI_Finalize")
        #expect(policy.handle(.taskExited(left), now: .zero) == [.reportFailure(left)])
        #expect(policy.exitCode(highestTaskStatus: 0) == 1)
    }

    @Test func aTasksExitIsCountedOnce() {
        var policy = JobPolicy(configuration: .init(), taskCount: 2)
        let failed = TaskEnd(task: 1, node: 1, status: 2)
        #expect(!policy.handle(.taskExited(failed), now: .zero).isEmpty)
        #expect(policy.handle(.taskExited(failed), now: .zero).isEmpty)
    }

    @Test func lastTaskFailingNeedsNoSignals() {
        var policy = JobPolicy(configuration: .init(), taskCount: 2)
        _ = policy.handle(.taskExited(TaskEnd(task: 0, node: 0, status: 0)), now: .zero)
        let failed = TaskEnd(task: 1, node: 1, status: 5)
        #expect(policy.handle(.taskExited(failed), now: .zero) == [.reportFailure(failed)])
        #expect(policy.handle(.tick, now: .seconds(30)).isEmpty)
        #expect(policy.exitCode(highestTaskStatus: 5) == 5)
    }

    @Test func timeLimitTerminatesThenKills() {
        var policy = JobPolicy(configuration: .init(killWait: .seconds(1), timeLimit: .seconds(60)), taskCount: 2)
        #expect(policy.handle(.tick, now: .seconds(59)).isEmpty)
        let actions = policy.handle(.tick, now: .seconds(60))
        #expect(actions == [.notice("time limit of 60 s reached: terminating the job"), .signalTasks(15)])
        #expect(policy.handle(.tick, now: .milliseconds(61_000)) == [.signalTasks(9)])
        // Tasks killed by the limit are not failures; the job exits 124.
        #expect(policy.handle(.taskExited(TaskEnd(task: 0, node: 0, status: 137)), now: .seconds(61)).isEmpty)
        #expect(policy.exitCode(highestTaskStatus: 137) == JobPolicy.timeLimitExitCode)
    }

    @Test func describesExitsAndSignals() {
        #expect(TaskEnd(task: 2, node: 1, status: 3).description == "task 2 (node 1): exited with exit code 3")
        #expect(TaskEnd(task: 0, node: 0, status: 139).description == "task 0 (node 0): killed by signal 11 (SIGSEGV)")
        #expect(TaskEnd.describe(status: 128 + 40) == "killed by signal 40")
    }
}

@Suite struct TimeLimitTests {
    @Test(arguments: [
        ("5", 300), ("1:30", 90), ("01:02:03", 3723), ("2-3", 183_600), ("1-00:01", 86_460), ("1-0:0:5", 86_405),
    ] as [(String, Int)])
    func readsSrunSyntax(text: String, seconds: Int) throws {
        #expect(try TimeLimit.parse(text) == .seconds(seconds))
    }

    @Test(arguments: ["0", "UNLIMITED", "infinite"])
    func noLimit(text: String) throws {
        #expect(try TimeLimit.parse(text) == nil)
    }

    @Test(arguments: ["", "abc", "1:2:3:4", "-5", "1-2-3", "5m", "1:x"])
    func rejectsGarbage(text: String) {
        #expect(throws: TimeLimit.ParseError.self) { try TimeLimit.parse(text) }
    }
}

/// The detector's back-off under load (local health, suspicion) on a manual clock.
@Suite struct AdaptiveDetectorTests {
    @Test func lateOwnTicksRaiseLocalHealthAndStretchTheTimeout() {
        var detector = HeartbeatDetector(rank: 1, period: .seconds(1), expectedTick: .milliseconds(125))
        detector.watch(2, now: .zero)
        _ = detector.tick(now: .zero)
        // This agent ticks every 600 ms instead of 125 ms: it is the slow one.
        var now = Duration.zero
        for _ in 0..<4 {
            now += .milliseconds(600)
            #expect(!detector.tick(now: now).contains { if case .suspect = $0 { true } else { false } })
        }
        #expect(detector.localHealth >= 3)
        #expect(detector.effectiveTimeout >= .seconds(6))
        detector.heard(from: 2, now: now)
        // On-time ticks bring it back down, one step per period.
        let raised = detector.localHealth
        for _ in 0..<24 {
            now += .milliseconds(125)
            _ = detector.tick(now: now)
            detector.heard(from: 2, now: now)
        }
        #expect(detector.localHealth < raised)
    }

    @Test func severalSilentPeersAreSuspectedFirstAndAnAnswerClearsIt() {
        var detector = HeartbeatDetector(rank: 1, period: .seconds(1), expectedTick: .milliseconds(125))
        var now = Duration.zero
        detector.watch(2, now: now)
        detector.watch(3, now: now)
        _ = detector.tick(now: now)
        while now < .milliseconds(1600) {
            now += .milliseconds(100)
            let actions = detector.tick(now: now)
            #expect(!actions.contains { if case .suspect = $0 { true } else { false } }, "no verdict at \(now)")
        }
        #expect(detector.localHealth >= 1)
        detector.heard(from: 2, now: now)
        #expect(detector.refutedSuspicions == 1)
        // Peer 3 stays silent: declared after the suspicion window.
        var declared: [Int] = []
        while now < .seconds(20), declared.isEmpty {
            now += .milliseconds(100)
            detector.heard(from: 2, now: now)
            for case .suspect(let peer, _) in detector.tick(now: now) { declared.append(peer) }
        }
        #expect(declared == [3])
    }

    @Test func aHealthyAgentDeclaresAHungPeerAfterTheSuspicionWindow() {
        var detector = HeartbeatDetector(rank: 1, period: .seconds(1), expectedTick: .milliseconds(125))
        var now = Duration.zero
        detector.watch(2, now: now)
        var declaredAt: Duration?
        while declaredAt == nil, now < .seconds(5) {
            now += .milliseconds(125)
            if detector.tick(now: now).contains(where: { if case .suspect = $0 { true } else { false } }) { declaredAt = now }
        }
        // Silent past 1.5 s: suspected; still silent 1.5 s later: declared.
        #expect(declaredAt.map { $0 > .seconds(3) && $0 <= .milliseconds(3250) } == true, "\(String(describing: declaredAt))")
    }

    @Test func theFixedDetectorIgnoresLoad() {
        var detector = HeartbeatDetector(rank: 1, period: .seconds(1), expectedTick: .milliseconds(125), adaptive: false)
        detector.watch(2, now: .zero)
        detector.watch(3, now: .zero)
        _ = detector.tick(now: .zero)
        let actions = detector.tick(now: .milliseconds(400)) + detector.tick(now: .milliseconds(800)) + detector.tick(now: .milliseconds(1200))
            + detector.tick(now: .milliseconds(1600))
        #expect(actions.filter { if case .suspect = $0 { true } else { false } }.count == 2)
        #expect(detector.localHealth == 0)
    }
}
