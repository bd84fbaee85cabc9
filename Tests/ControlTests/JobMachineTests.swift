import NIOCore
import Testing
import Wire

@testable import Control

/// The front-end's job policy (``JobMachine``) on a manual clock: events in, actions out; no agents, no
/// sockets, no sleeps. Instants are the start plus a chosen offset.
@Suite struct JobMachineTests {
    /// A machine with its start instant and helpers to feed it at `start + offset`.
    struct Job {
        var machine: JobMachine
        let start = ContinuousClock.now

        init(_ configuration: JobMachine.Configuration) {
            machine = JobMachine(configuration: configuration, now: start)
        }

        init(tasks: Int, nodes: Int, onFailure: JobOptions.FailurePolicy = .abort, staging: [StagingOffer] = [],
             policy: JobPolicy.Configuration = .init(killOnBadExit: false)) {
            self.init(.init(taskCount: tasks, nodeCount: nodes, onFailure: onFailure, staging: staging, policy: policy))
        }

        @discardableResult
        mutating func feed(_ event: JobMachine.Event, at offset: Duration = .zero) -> [JobMachine.Action] {
            machine.handle(event, now: start + offset)
        }

        /// Bootstrap with agents 1…nodes (minus `lost`).
        @discardableResult
        mutating func bootstrap(nodes: Int, lost: Set<Int> = [], at offset: Duration = .milliseconds(100)) -> [JobMachine.Action] {
            let agents = (0...nodes).filter { !lost.contains($0) }.map { AgentEndpoint(rank: $0, host: "h", port: 1000 + $0, pid: Int32(100 + $0)) }
            return feed(.bootstrapped(agents: agents), at: offset)
        }

        /// Task `task` on node (agent rank) `node` exits with `status` and closes both streams.
        @discardableResult
        mutating func finish(task: Int, node: Int, status: Int32 = 0, at offset: Duration = .milliseconds(200)) -> [JobMachine.Action] {
            feed(.taskExited(node: node, task: task, status: status, message: ""), at: offset)
                + feed(.output(chunk(task: task, stream: .stdout, sequence: 0, text: "", end: true)), at: offset)
                + feed(.output(chunk(task: task, stream: .stderr, sequence: 0, text: "", end: true)), at: offset)
        }

        func wake(in actions: [JobMachine.Action]) -> Duration? {
            actions.compactMap { if case .wake(let instant) = $0 { instant - start } else { nil } }.last
        }
    }

    static func chunk(task: Int, stream: IOStream, sequence: UInt64, text: String, end: Bool = false) -> Wire.IOData {
        Wire.IOData(launchID: 1, rank: 1, task: UInt32(task), stream: stream, sequence: sequence, isEndOfStream: end,
                    data: ByteBuffer(string: text))
    }

    static func failure(_ rank: Int) -> FailureNotice {
        FailureNotice(rank: rank, reporter: 0, detector: .connectionClosed, detail: "gone")
    }

    static let offer = StagingOffer(transferID: 7, size: 100, sha256: "", target: .job(index: 0, path: "input"))

    static func report(_ node: Int, _ outcome: StagingReport.Outcome) -> StagingReport {
        StagingReport(node: node, transferID: offer.transferID, outcome: outcome, detail: outcome == .failed ? "disk full" : "/tmp/x")
    }

    static func ending(_ actions: [JobMachine.Action]) -> String? {
        actions.compactMap { if case .report(.ending(let reason, _)) = $0 { reason } else { nil } }.first
    }

    static func terminates(_ actions: [JobMachine.Action]) -> Bool {
        actions.contains { if case .terminate = $0 { true } else { false } }
    }

    static func launches(_ actions: [JobMachine.Action]) -> Bool {
        actions.contains { if case .launch = $0 { true } else { false } }
    }

    // MARK: Launch, output and the end

    @Test func launchesAfterBootstrapAndEndsWhenEveryTaskExitedWithAllItsOutput() {
        var job = Job(tasks: 2, nodes: 2)
        #expect(job.feed(.start).isEmpty)  // no time limit: nothing to wake for
        let boot = job.bootstrap(nodes: 2)
        #expect(boot.first == .report(.bootstrapped(agents: job.machine.agents, elapsed: .milliseconds(100))))
        #expect(boot.last == .launch(stdin: [.init(node: 1, task: 0)]))
        #expect(job.machine.bootstrapTime == .milliseconds(100))
        // Output arrives out of order: it is reported in order, once.
        #expect(job.feed(.output(Self.chunk(task: 0, stream: .stdout, sequence: 1, text: "b\n"))).isEmpty)
        let ordered = job.feed(.output(Self.chunk(task: 0, stream: .stdout, sequence: 0, text: "a\n")))
        #expect(ordered == [
            .report(.output(task: 0, stream: .stdout, data: ByteBuffer(string: "a\n"))),
            .report(.output(task: 0, stream: .stdout, data: ByteBuffer(string: "b\n"))),
        ])
        #expect(job.feed(.output(Self.chunk(task: 0, stream: .stdout, sequence: 1, text: "b\n"))).isEmpty)
        job.feed(.taskExited(node: 1, task: 0, status: 0, message: ""))
        job.feed(.output(Self.chunk(task: 0, stream: .stdout, sequence: 2, text: "", end: true)))
        job.feed(.output(Self.chunk(task: 0, stream: .stderr, sequence: 0, text: "", end: true)))
        #expect(!job.machine.ending)
        let last = job.finish(task: 1, node: 2)
        #expect(Self.ending(last) == "all tasks finished")
        #expect(last.last == .terminate(commandID: 11))
        #expect(job.machine.exitCode == 0)
        // Later events change nothing.
        #expect(!Self.terminates(job.finish(task: 1, node: 2)))
    }

    @Test func bootstrapOnlyEndsWithoutLaunching() {
        var configuration = JobMachine.Configuration(taskCount: 4, nodeCount: 4)
        configuration.bootstrapOnly = true
        var job = Job(configuration)
        let actions = job.bootstrap(nodes: 4)
        #expect(!Self.launches(actions))
        #expect(Self.ending(actions) == "bootstrap finished")
    }

    @Test func stdinGoesToTheRankInputNamesOrToEveryNodeWithTasks() {
        var one = Job(.init(taskCount: 5, nodeCount: 2, stdinTarget: .rank(4)))
        #expect(one.bootstrap(nodes: 2).last == .launch(stdin: [.init(node: 2, task: 4)]))
        var all = Job(.init(taskCount: 2, nodeCount: 3, stdinTarget: .all))
        #expect(all.bootstrap(nodes: 3).last == .launch(stdin: [
            .init(node: 1, task: StdinTarget.everyTask), .init(node: 2, task: StdinTarget.everyTask),
        ]))
        var none = Job(.init(taskCount: 2, nodeCount: 2, stdinTarget: .none))
        #expect(none.bootstrap(nodes: 2).last == .launch(stdin: []))
    }

    @Test func controllerDirectivesBecomeJobEvents() {
        #expect(JobMachine.Event(.report(.taskExited(node: 2, task: 3, status: 1, message: "")))
            == .taskExited(node: 2, task: 3, status: 1, message: ""))
        #expect(JobMachine.Event(.report(.launchFailed(node: 1, message: "x"))) == .launchFailed(node: 1, message: "x"))
        #expect(JobMachine.Event(.failure(Self.failure(3))) == .agentFailed(Self.failure(3)))
        #expect(JobMachine.Event(.closeLink(3)) == nil)
    }

    // MARK: Exit codes

    @Test func theExitCodeIsTheHighestTaskStatus() {
        var job = Job(tasks: 3, nodes: 3)
        job.bootstrap(nodes: 3)
        job.finish(task: 0, node: 1, status: 0)
        #expect(job.finish(task: 1, node: 2, status: 3).contains(.report(.taskFailed(TaskEnd(task: 1, node: 1, status: 3)))))
        // The report that the job ends carries the exit code it ends with (the history records it then).
        #expect(job.finish(task: 2, node: 3, status: 139).contains(.report(.ending(reason: "all tasks finished", exitCode: 139))))
        #expect(job.machine.ending)
        #expect(job.machine.exitCode == 139)
    }

    @Test func killOnBadExitKeepsTheFailedTasksCodeAndEscalatesOnDeadlines() {
        var job = Job(tasks: 2, nodes: 2, policy: .init(killOnBadExit: true, killWait: .seconds(2), giveUpAfter: .seconds(3)))
        job.bootstrap(nodes: 2)
        let failed = job.finish(task: 0, node: 1, status: 3, at: .seconds(1))
        #expect(failed.contains(.signalTasks(15, commandID: 11)))
        #expect(job.wake(in: failed) == .seconds(3))
        // An early wake (a timer that fires first) changes nothing but asks again.
        let early = job.feed(.wake, at: .milliseconds(2500))
        #expect(!early.contains { if case .signalTasks = $0 { true } else { false } })
        #expect(job.wake(in: early) == .seconds(3))
        let kill = job.feed(.wake, at: .seconds(3))
        #expect(kill.contains(.signalTasks(9, commandID: 12)))
        #expect(job.wake(in: kill) == .seconds(6))
        // Task 1 never reports: the job gives up after SIGKILL + 3 s.
        #expect(Self.ending(job.feed(.wake, at: .seconds(6)))?.contains("did not report their exit") == true)
        #expect(job.machine.exitCode == 3)
    }

    @Test func theTimeLimitIsADeadlineAndExits124() {
        var job = Job(tasks: 1, nodes: 1, policy: .init(killWait: .seconds(1), timeLimit: .seconds(60)))
        #expect(job.wake(in: job.feed(.start)) == .seconds(60))
        job.bootstrap(nodes: 1)
        let limit = job.feed(.wake, at: .seconds(60))
        #expect(limit.contains(.signalTasks(15, commandID: 11)))
        #expect(limit.contains(.report(.notice("time limit of 60 s reached: terminating the job"))))
        job.finish(task: 0, node: 1, status: 143, at: .milliseconds(60_500))
        #expect(job.machine.ending)
        #expect(job.machine.exitCode == JobPolicy.timeLimitExitCode)
    }

    @Test func aTimeLimitDuringBootstrapEndsTheJobBeforeItsTasksStart() {
        var job = Job(tasks: 2, nodes: 2, policy: .init(timeLimit: .seconds(5)))
        job.feed(.start)
        let actions = job.feed(.wake, at: .seconds(5))
        #expect(Self.ending(actions) == "ended before its tasks started")
        #expect(!Self.launches(job.bootstrap(nodes: 2, at: .seconds(6))))
    }

    @Test func mpiAbortCodesAreReadAsAProcessWouldExit() {
        var job = Job(tasks: 2, nodes: 1)
        job.bootstrap(nodes: 1)
        let aborted = job.feed(.taskExited(node: 1, task: 0, status: 300, message: "rank 0 called MPI_Abort"))
        #expect(aborted.contains(.report(.taskFailed(TaskEnd(task: 0, node: 0, status: 44, detail: "rank 0 called MPI_Abort")))))
        let wrapped = job.feed(.taskExited(node: 1, task: 1, status: 256, message: "rank 1 called MPI_Abort"))
        #expect(wrapped.contains(.report(.taskFailed(TaskEnd(task: 1, node: 0, status: 1, detail: "rank 1 called MPI_Abort")))))
    }

    // MARK: Agent failures: abort and continue

    /// A job with nothing to stage launches once every agent joined the tree (BMG wiring goes on meanwhile),
    /// and ends only once wiring has completed, so no agent is still dialling one that already left.
    @Test func launchesWhenEveryAgentJoinedAndEndsOnlyOnceWired() {
        var configuration = JobMachine.Configuration(taskCount: 2, nodeCount: 2, policy: .init(killOnBadExit: false))
        configuration.launchesBeforeWiring = true
        var job = Job(configuration)
        let agents = (0...2).map { AgentEndpoint(rank: $0, host: "h", port: 1000 + $0, pid: Int32(100 + $0)) }
        let joined = job.feed(.joined(agents: agents), at: .milliseconds(50))
        #expect(joined.contains(.report(.joined(agents: agents))))  // the front-end counts its agents from here
        #expect(joined.last == .launch(stdin: [.init(node: 1, task: 0)]))
        #expect(job.machine.bootstrapTime == nil)
        job.finish(task: 0, node: 1)
        #expect(!Self.terminates(job.finish(task: 1, node: 2)))  // every task done, wiring not yet
        #expect(!job.machine.ending)
        let wired = job.bootstrap(nodes: 2, at: .milliseconds(250))
        #expect(wired.first == .report(.bootstrapped(agents: agents, elapsed: .milliseconds(250))))
        #expect(!Self.launches(wired))  // launched once
        #expect(Self.ending(wired) == "all tasks finished")
        #expect(Self.terminates(wired))
        #expect(job.machine.exitCode == 0)
    }

    /// Under `--on-failure abort` a job that launches before wiring holds the go to wire for `wiringDelay`: one whose
    /// tasks are all done by then ends over the tree and never wires (no `.wire`); a longer one sends the go when
    /// the delay is up and, as before, ends only once wired.
    @Test func aShortJobEndsOverTheTreeAndALongerOneWiresAfterTheDelay() {
        var configuration = JobMachine.Configuration(taskCount: 2, nodeCount: 2, policy: .init(killOnBadExit: false))
        configuration.launchesBeforeWiring = true
        configuration.wiringDelay = .seconds(1)
        let agents = (0...2).map { AgentEndpoint(rank: $0, host: "h", port: 1000 + $0, pid: Int32(100 + $0)) }
        let wires = { (actions: [JobMachine.Action]) in actions.contains { if case .wire = $0 { true } else { false } } }

        var short = Job(configuration)
        let joined = short.feed(.joined(agents: agents), at: .milliseconds(50))
        #expect(Self.launches(joined) && !wires(joined))
        #expect(short.wake(in: joined) == .milliseconds(1050))  // the go is due one delay after the launch
        short.finish(task: 0, node: 1)
        let done = short.finish(task: 1, node: 2)
        #expect(Self.ending(done) == "all tasks finished")
        #expect(Self.terminates(done) && !wires(done))
        #expect(short.feed(.wake, at: .milliseconds(1100)).allSatisfy { !wires([$0]) })  // ending: the go never goes
        #expect(short.machine.exitCode == 0)

        var long = Job(configuration)
        _ = long.feed(.joined(agents: agents), at: .milliseconds(50))
        #expect(!wires(long.feed(.wake, at: .milliseconds(1000))))  // not yet
        #expect(wires(long.feed(.wake, at: .milliseconds(1050))))
        long.finish(task: 0, node: 1, at: .milliseconds(1100))
        #expect(!Self.terminates(long.finish(task: 1, node: 2, at: .milliseconds(1100))))  // the go went out: wiring first
        let wired = long.bootstrap(nodes: 2, at: .milliseconds(1200))
        #expect(Self.terminates(wired) && Self.ending(wired) == "all tasks finished")

        // An agent failure before the go ends the job at once, and the go never goes.
        var failing = Job(configuration)
        _ = failing.feed(.joined(agents: agents), at: .milliseconds(50))
        let failed = failing.feed(.agentFailed(Self.failure(2)), at: .milliseconds(60))
        #expect(Self.terminates(failed) && !wires(failed))
        #expect(!wires(failing.feed(.wake, at: .milliseconds(1100))))
    }

    /// The delay is the default under abort only: under `continue` a job must survive a failure, which needs the
    /// binomial graph at once.
    @Test func onlyAbortJobsHoldTheGoToWire() {
        var options = JobOptions(jobID: "j", nodeCount: 2, taskCount: 2, hosts: ["a", "b"], executable: "true", arguments: [], workingDirectory: "/")
        #expect(JobMachine.Configuration(options).wiringDelay == JobMachine.Configuration.defaultWiringDelay)
        options.onFailure = .continue
        #expect(JobMachine.Configuration(options).wiringDelay == nil)
        options.onFailure = .abort
        options.fullAddressTable = true
        #expect(JobMachine.Configuration(options).wiringDelay == nil)
    }

    /// Files to stage (and by default) the launch waits for wiring as before: joining alone starts nothing.
    @Test func joiningAloneLaunchesNothingWithFilesToStageOrByDefault() {
        let agents = (0...2).map { AgentEndpoint(rank: $0, host: "h", port: 1000 + $0, pid: Int32(100 + $0)) }
        var staging = JobMachine.Configuration(taskCount: 2, nodeCount: 2, staging: [Self.offer])
        staging.launchesBeforeWiring = true
        var stagingJob = Job(staging)
        #expect(!Self.launches(stagingJob.feed(.joined(agents: agents))))
        var plain = Job(tasks: 2, nodes: 2)
        #expect(plain.feed(.joined(agents: agents)).isEmpty)
        #expect(Self.launches(plain.bootstrap(nodes: 2)))
        var options = JobOptions(jobID: "j", nodeCount: 2, taskCount: 2, hosts: ["a", "b"], executable: "true", arguments: [], workingDirectory: "/")
        #expect(JobMachine.Configuration(options).launchesBeforeWiring)
        options.fullAddressTable = true  // VM jobs: every node's switch needs every node's address
        #expect(!JobMachine.Configuration(options).launchesBeforeWiring)
    }

    @Test func abortEndsTheJobOnAnAgentFailure() {
        var job = Job(tasks: 2, nodes: 2, onFailure: .abort)
        job.bootstrap(nodes: 2)
        let actions = job.feed(.agentFailed(Self.failure(2)))
        #expect(actions.first == .report(.failure(Self.failure(2))))
        #expect(Self.ending(actions) == "aborting after failure of agent 2")
        #expect(Self.terminates(actions))
        // What comes after the end is still reported, and counted.
        #expect(job.feed(.agentFailed(Self.failure(1))) == [.report(.failure(Self.failure(1)))])
        #expect(job.machine.failures.count == 2)
        #expect(job.machine.exitCode == 137)
    }

    @Test func continueLetsTheSurvivorsFinishAndNeverExitsZero() {
        var job = Job(tasks: 2, nodes: 2, onFailure: .continue)
        job.bootstrap(nodes: 2)
        let failed = job.feed(.agentFailed(Self.failure(2)))
        #expect(!Self.terminates(failed))
        job.feed(.output(Self.chunk(task: 0, stream: .stdout, sequence: 0, text: "still here\n")))
        job.feed(.taskExited(node: 1, task: 0, status: 0, message: ""))
        job.feed(.output(Self.chunk(task: 0, stream: .stderr, sequence: 0, text: "", end: true)))
        let last = job.feed(.output(Self.chunk(task: 0, stream: .stdout, sequence: 1, text: "", end: true)))
        #expect(Self.ending(last) == "all tasks finished")
        // The lost node's task counts as killed.
        #expect(job.machine.exitCode == 137)
    }

    @Test func anInfrastructureFailureOfATaskIsAnAgentFailureUnderAbort() {
        var job = Job(tasks: 2, nodes: 2, onFailure: .abort)
        job.bootstrap(nodes: 2)
        let actions = job.feed(.taskExited(node: 2, task: 1, status: 255, message: "the VM of task 1 crashed"))
        #expect(actions.contains(.report(.launchFailed(node: 2, message: "the VM of task 1 crashed"))))
        #expect(Self.ending(actions) == "aborting: the VM of task 1 crashed")
        #expect(job.machine.exitCode == 255)

        var tolerant = Job(tasks: 2, nodes: 2, onFailure: .continue)
        tolerant.bootstrap(nodes: 2)
        #expect(!Self.terminates(tolerant.feed(.taskExited(node: 2, task: 1, status: 255, message: "the VM of task 1 crashed"))))
    }

    @Test func aNodeLostBeforeLaunchAbortsOrIsLeftOut() {
        // abort: the job ends before it launches anything.
        var strict = Job(tasks: 2, nodes: 2, onFailure: .abort)
        #expect(Self.ending(strict.feed(.agentFailed(Self.failure(2)), at: .milliseconds(50))) == "aborting after failure of agent 2")
        #expect(!Self.launches(strict.bootstrap(nodes: 2, lost: [2])))
        #expect(strict.machine.exitCode == 137)

        // continue: the survivors launch; the lost node's tasks count as killed; the job ends with the rest.
        var tolerant = Job(tasks: 4, nodes: 2, onFailure: .continue)
        #expect(!Self.terminates(tolerant.feed(.agentFailed(Self.failure(2)), at: .milliseconds(50))))
        #expect(Self.launches(tolerant.bootstrap(nodes: 2, lost: [2])))
        tolerant.finish(task: 0, node: 1)
        #expect(Self.ending(tolerant.finish(task: 1, node: 1)) == "all tasks finished")
        #expect(tolerant.machine.exitCode == 137)
    }

    @Test func aNodeThatCannotStartItsTasksCountsThemAsFailed() {
        var job = Job(tasks: 2, nodes: 2, onFailure: .continue)
        job.bootstrap(nodes: 2)
        job.finish(task: 0, node: 1)
        let actions = job.feed(.launchFailed(node: 2, message: "tasks not started on node 1"))
        #expect(actions.first == .report(.launchFailed(node: 2, message: "tasks not started on node 1")))
        #expect(Self.ending(actions) == "all tasks finished")
        #expect(job.machine.exitCode == 127)
    }

    @Test func aStepThatExitsFailsTheAgentsThatNeverReportedUnlessTheJobIsEnding() {
        var job = Job(tasks: 2, nodes: 2)
        #expect(job.feed(.stepExited(status: 1, unreported: [1, 2])) == [
            .spawnFailed(rank: 1, detail: "the agents' job step exited with status 1 before this agent reported"),
            .spawnFailed(rank: 2, detail: "the agents' job step exited with status 1 before this agent reported"),
        ])
        job.feed(.interrupt(signal: 2))
        #expect(job.feed(.stepExited(status: 0, unreported: [1])).isEmpty)
    }

    // MARK: Staging

    @Test func stagesThenLaunchesOnceEveryLiveNodeHoldsEveryFile() {
        var job = Job(tasks: 2, nodes: 2, staging: [Self.offer])
        let boot = job.bootstrap(nodes: 2)
        #expect(!Self.launches(boot))
        #expect(boot.contains(.stage([Self.offer])))
        #expect(boot.contains(.report(.stagingProgress(bytes: 0, total: 100, nodesDone: 0, nodes: 2))))
        #expect(job.feed(.stagingProgress(transferID: 7, bytes: 60), at: .milliseconds(150))
            == [.report(.stagingProgress(bytes: 60, total: 100, nodesDone: 0, nodes: 2))])
        #expect(!Self.launches(job.feed(.stagingReport(Self.report(1, .staged)), at: .milliseconds(200))))
        // A duplicate report (re-sent after a failure elsewhere) counts once.
        #expect(job.feed(.stagingReport(Self.report(1, .staged)), at: .milliseconds(210)).isEmpty)
        let done = job.feed(.stagingReport(Self.report(2, .skipped)), at: .milliseconds(400))
        #expect(done.contains(.report(.staged(bytes: 100, nodes: 2, skipped: 1, elapsed: .milliseconds(300)))))
        #expect(done.last == .launch(stdin: [.init(node: 1, task: 0)]))
        #expect(job.machine.stagingTime == .milliseconds(300))
    }

    @Test func aStagingFailureAbortsTheJobUnderAbort() {
        var job = Job(tasks: 2, nodes: 2, onFailure: .abort, staging: [Self.offer])
        job.bootstrap(nodes: 2)
        let actions = job.feed(.stagingReport(Self.report(2, .failed)))
        #expect(actions.first == .report(.launchFailed(node: 2, message: "staging failed on node 1: disk full")))
        #expect(Self.ending(actions) == "aborting: staging failed")
        #expect(!Self.launches(job.feed(.stagingReport(Self.report(1, .staged)))))
        #expect(job.machine.exitCode == 127)
    }

    @Test func underContinueANodeThatFailedStagingIsLeftOutOfTheJob() {
        var job = Job(tasks: 2, nodes: 2, onFailure: .continue, staging: [Self.offer])
        job.bootstrap(nodes: 2)
        #expect(!Self.terminates(job.feed(.stagingReport(Self.report(2, .failed)), at: .milliseconds(100))))
        let done = job.feed(.stagingReport(Self.report(1, .staged)), at: .milliseconds(100))
        #expect(done.contains(.report(.staged(bytes: 100, nodes: 1, skipped: 0, elapsed: .zero))))
        #expect(Self.launches(done))
        #expect(Self.ending(job.finish(task: 0, node: 1)) == "all tasks finished")
        #expect(job.machine.exitCode == 127)
    }

    @Test func anAgentLostDuringStagingNoLongerHoldsUpTheLaunchUnderContinue() {
        var job = Job(tasks: 2, nodes: 2, onFailure: .continue, staging: [Self.offer])
        job.bootstrap(nodes: 2)
        job.feed(.stagingReport(Self.report(1, .staged)), at: .milliseconds(100))
        let lost = job.feed(.agentFailed(Self.failure(2)), at: .milliseconds(100))
        #expect(lost.contains(.report(.staged(bytes: 100, nodes: 1, skipped: 0, elapsed: .zero))))
        #expect(Self.launches(lost))
        #expect(!Self.terminates(lost))

        var strict = Job(tasks: 2, nodes: 2, onFailure: .abort, staging: [Self.offer])
        strict.bootstrap(nodes: 2)
        strict.feed(.stagingReport(Self.report(1, .staged)))
        let aborted = strict.feed(.agentFailed(Self.failure(2)))
        #expect(!Self.launches(aborted))
        #expect(Self.ending(aborted) == "aborting after failure of agent 2")
    }

    // MARK: Lost output

    @Test func outputLostWithAFailedAgentEndsTheJob2sAfterTheLastExit() {
        var job = Job(tasks: 2, nodes: 2, onFailure: .continue)
        job.bootstrap(nodes: 2)
        job.finish(task: 0, node: 1, at: .seconds(1))
        // Task 1 exits, but its stdout's end never comes (the agent forwarding it failed).
        let exited = job.feed(.taskExited(node: 2, task: 1, status: 0, message: ""), at: .seconds(2))
        #expect(job.wake(in: exited) == .seconds(4))
        #expect(job.feed(.output(Self.chunk(task: 1, stream: .stderr, sequence: 0, text: "", end: true)), at: .seconds(3)).isEmpty)
        #expect(Self.ending(job.feed(.wake, at: .milliseconds(3999))) == nil)
        #expect(Self.ending(job.feed(.wake, at: .seconds(4))) == "all tasks exited; some output was lost with a failed agent")
        #expect(job.machine.exitCode == 0)
    }

    @Test func outputThatArrivesInTimeEndsTheJobNormally() {
        var job = Job(tasks: 1, nodes: 1)
        job.bootstrap(nodes: 1)
        job.feed(.taskExited(node: 1, task: 0, status: 0, message: ""), at: .seconds(1))
        job.feed(.output(Self.chunk(task: 0, stream: .stderr, sequence: 0, text: "", end: true)), at: .seconds(2))
        let last = job.feed(.output(Self.chunk(task: 0, stream: .stdout, sequence: 0, text: "late\n", end: true)), at: .seconds(2))
        #expect(last.first == .report(.output(task: 0, stream: .stdout, data: ByteBuffer(string: "late\n"))))
        #expect(Self.ending(last) == "all tasks finished")
        #expect(Self.ending(job.feed(.wake, at: .seconds(3))) == nil)
    }

    // MARK: Ctrl-C

    @Test func ctrlCEndsTheJobAndASecondSignalChangesNothing() {
        var job = Job(tasks: 2, nodes: 2)
        job.bootstrap(nodes: 2)
        let first = job.feed(.interrupt(signal: 2), at: .seconds(1))
        #expect(first == [.report(.ending(reason: "interrupted by signal 2", exitCode: 130)), .terminate(commandID: 11)])
        #expect(job.feed(.interrupt(signal: 15), at: .seconds(2)).isEmpty)
        // Tasks killed by the end are not what the job exits with: 128 + the first signal.
        job.finish(task: 0, node: 1, status: 143, at: .seconds(2))
        #expect(job.machine.exitCode == 130)
    }

    @Test func ctrlCDuringBootstrapNeverLaunches() {
        var job = Job(tasks: 2, nodes: 2, policy: .init(timeLimit: .seconds(30)))
        job.feed(.start)
        #expect(Self.terminates(job.feed(.interrupt(signal: 2), at: .milliseconds(10))))
        let boot = job.bootstrap(nodes: 2, at: .milliseconds(50))
        #expect(!Self.launches(boot))
        #expect(job.wake(in: boot) == nil)
        #expect(job.feed(.wake, at: .seconds(30)).isEmpty)
        #expect(job.machine.exitCode == 130)
    }
}
