import Wire
#if canImport(Glibc)
import Glibc
#endif

/// The front-end's job, as a sans-I/O state machine: what the controller reports (bootstrap, staging, task
/// exits, output, agent failures) and what the user does (Ctrl-C) go in as events; what to do comes out as
/// actions (launch, stage, terminate, signal the tasks, tell the user, wake me at…). ``JobRunner`` is its shell.
///
/// The rules:
/// - after bootstrap the job stages its files, if any, and launches once every live node holds every file; a
///   job with nothing to stage and no need of every node's address (``Configuration/launchesBeforeWiring``)
///   launches as soon as every agent has joined the boot tree, while BMG wiring completes, and ends (the
///   terminate) only once wiring has (so no agent is still dialling one that already left);
/// - a node lost or unable to stage before launch, or whose tasks could not start, counts its tasks as
///   failed (137 when lost, 127 otherwise); under `--on-failure abort` an agent failure (or a node's staging
///   or task infrastructure failing) ends the job, under `continue` the survivors go on;
/// - task exits go to ``JobPolicy`` (kill-on-bad-exit, the time limit, SIGTERM → SIGKILL escalation);
/// - output is put back in order per task and stream (``OutputSequencer``); the job ends when every task
///   has exited and all its output has arrived (``JobTracker``), or 2 s after every task exited when output
///   was lost with a failed agent;
/// - a signal (Ctrl-C) ends the job at once, during bootstrap too, and the run exits 128 + that signal (the
///   first one: a later one changes nothing);
/// - every deadline (time limit, escalation, lost output) is a `.wake(at:)` action: nothing polls.
public struct JobMachine: Sendable {
    /// What the job is: its shape and the user's choices.
    public struct Configuration: Sendable, Hashable {
        public var taskCount: Int
        public var nodeCount: Int
        public var onFailure: JobOptions.FailurePolicy
        /// Stop after bootstrap (benchmarks): do not launch tasks.
        public var bootstrapOnly: Bool
        /// Files staged to every node before the launch.
        public var staging: [StagingOffer]
        public var stdinTarget: StdinTarget
        public var policy: JobPolicy.Configuration
        /// How long missing output is waited for once every task exited (it went down with a failed agent).
        public var lostOutputWait: Duration = .seconds(2)
        /// Launch when every agent has joined the boot tree (``Event/joined(agents:)``) instead of once BMG
        /// wiring is complete: the tree carries the launch, the tasks' reports and output, and failures until
        /// then. Not with files to stage, nor for jobs that need every node's address (VM networks).
        public var launchesBeforeWiring = false
        /// With ``launchesBeforeWiring``: how long after the launch the go to wire goes down (``Action/wire``); a job
        /// whose tasks are all done by then never wires its binomial graph and ends over the tree. nil: the
        /// controller sends the go itself as soon as every agent joined. Only under `--on-failure abort`: the first
        /// agent failure ends such a job, which the tree alone detects and reports (each agent's parent and
        /// children watch it); surviving one, and routing around it, needs the binomial graph.
        public var wiringDelay: Duration?

        public init(
            taskCount: Int, nodeCount: Int, onFailure: JobOptions.FailurePolicy = .abort, bootstrapOnly: Bool = false,
            staging: [StagingOffer] = [], stdinTarget: StdinTarget = .rank(0), policy: JobPolicy.Configuration = .init()
        ) {
            self.taskCount = taskCount
            self.nodeCount = nodeCount
            self.onFailure = onFailure
            self.bootstrapOnly = bootstrapOnly
            self.staging = staging
            self.stdinTarget = stdinTarget
            self.policy = policy
        }

        /// The machine's part of what the user asked `vhpc run` for.
        public init(_ options: JobOptions) {
            self.init(
                taskCount: options.taskCount, nodeCount: options.nodeCount, onFailure: options.onFailure,
                bootstrapOnly: options.bootstrapOnly, staging: options.staging.map(\.offer),
                stdinTarget: options.stdinTarget, policy: options.policy)
            launchesBeforeWiring = options.staging.isEmpty && !options.fullAddressTable && !options.bootstrapOnly
            if launchesBeforeWiring, options.onFailure == .abort { wiringDelay = Self.defaultWiringDelay }
        }

        /// A short job (`true` over 256 nodes ends in ~0.1 s here) never wires: at N = 256 wiring is ~2,000 links
        /// set up, as many neighbour look-ups and the terminate flooded over every link, against 256 task reports.
        public static let defaultWiringDelay = Duration.seconds(1)
    }

    /// What happens to the job.
    public enum Event: Sendable, Hashable {
        /// The run began (arms the time limit).
        case start
        /// Every live agent has joined the boot tree (wiring goes on).
        case joined(agents: [AgentEndpoint])
        /// Every live agent is up and wired.
        case bootstrapped(agents: [AgentEndpoint])
        /// A node's outcome for one staged file.
        case stagingReport(StagingReport)
        /// The slowest first-level node acknowledged `bytes` of a staged file.
        case stagingProgress(transferID: UInt64, bytes: UInt64)
        /// An agent failed (as the controller learned it).
        case agentFailed(FailureNotice)
        /// Output of a task, in arrival order.
        case output(Wire.IOData)
        /// A task exited on node (agent rank) `node`; `message` says why it could not start, or why its
        /// infrastructure failed (status 255), or is empty. `output`: its streams end after that many chunks.
        case taskExited(node: Int, task: Int, status: Int32, message: String, output: OutputCounts? = nil)
        /// Node (agent rank) `node` could not start its tasks.
        case launchFailed(node: Int, message: String)
        /// The user (or a broken output pipe) asked the job to stop.
        case interrupt(signal: Int32)
        /// The resource manager's job step holding the agents exited; `unreported` are the first-level ranks
        /// (the controller fails those not linked to it yet).
        case stepExited(status: Int32, unreported: [Int])
        /// A deadline asked for with ``Action/wake(at:)`` may have come.
        case wake

        /// The event a controller directive is for the job, if any.
        public init?(_ directive: AgentDirective) {
            switch directive {
            case .joined(let endpoints): self = .joined(agents: endpoints)
            case .bootstrapped(let endpoints, _): self = .bootstrapped(agents: endpoints)
            case .stagingReport(let report): self = .stagingReport(report)
            case .stagingProgress(let id, let bytes): self = .stagingProgress(transferID: id, bytes: bytes)
            case .failure(let notice): self = .agentFailed(notice)
            case .output(let data): self = .output(data)
            case .report(.taskExited(let node, let task, let status, let message, let output)):
                self = .taskExited(node: node, task: task, status: status, message: message, output: output)
            case .report(.launchFailed(let node, let message)): self = .launchFailed(node: node, message: message)
            default: return nil
            }
        }
    }

    /// Where the front-end's stdin goes: node (agent rank) `node`, task `task` (or ``StdinTarget/everyTask``).
    public struct StdinRoute: Sendable, Hashable {
        public var node: Int
        public var task: UInt32
    }

    /// What the shell is to do.
    public enum Action: Sendable, Hashable {
        /// Tell the caller (the CLI prints it, the job history records it).
        case report(JobEvent)
        /// Offer these files to every node.
        case stage([StagingOffer])
        /// Launch the tasks (launch id 1); stdin goes where `stdin` says (empty: nowhere).
        case launch(stdin: [StdinRoute])
        /// Broadcast the terminate command: every agent stops its tasks and exits.
        case terminate(commandID: UInt64)
        /// Broadcast a signal for every task.
        case signalTasks(Int32, commandID: UInt64)
        /// Fail an agent that will never come (its launcher gave up on it).
        case spawnFailed(rank: Int, detail: String)
        /// Send the go to wire the binomial graph (the controller holds it, see ``Configuration/wiringDelay``).
        case wire
        /// Feed ``Event/wake`` at `instant` (replaces any earlier request).
        case wake(at: ContinuousClock.Instant)
    }

    public let configuration: Configuration
    public let layout: TaskLayout
    /// When the run began.
    public let started: ContinuousClock.Instant
    private var tracker: JobTracker
    private var sequencer = OutputSequencer()
    /// Streams whose length an exit report gave (``OutputCounts``), until that many chunks have been put in order.
    private var streamChunks: [StreamKey: UInt64] = [:]

    private struct StreamKey: Hashable, Sendable {
        var task: UInt32
        var stream: IOStream
    }
    private var policy: JobPolicy
    private var staging: StagingTracker?
    private var stagingStarted: ContinuousClock.Instant?
    private var stagingBytes: [UInt64: UInt64] = [:]
    private var nextCommandID: UInt64 = 10
    private var abortedForFailure = false
    /// Since when every task has exited while some output is still missing.
    private var outputMissingSince: ContinuousClock.Instant?
    private var wakeRequested: ContinuousClock.Instant?
    /// When the go to wire is due (``Configuration/wiringDelay``), until it went out.
    private var wireDue: ContinuousClock.Instant?
    /// Whether the go to wire went out (or the controller sends it itself): the job's end then waits for wiring.
    private var wiring: Bool

    /// Agent failures, in the order they reached the front-end.
    public private(set) var failures: [FailureNotice] = []
    /// The live agents, from bootstrap.
    public private(set) var agents: [AgentEndpoint] = []
    public private(set) var bootstrapTime: Duration?
    /// From the start of staging until every live node held every file (nil: nothing staged).
    public private(set) var stagingTime: Duration?
    /// Whether the launch went out.
    public private(set) var launched = false
    /// Whether the job is ending (the terminate went out): the shell's run ends with the controller.
    public private(set) var ending = false
    /// The first signal that interrupted the job.
    public private(set) var interrupted: Int32?

    public init(configuration: Configuration, now: ContinuousClock.Instant) {
        self.configuration = configuration
        layout = TaskLayout(tasks: configuration.taskCount, nodes: max(1, configuration.nodeCount))
        started = now
        tracker = JobTracker(taskCount: configuration.taskCount)
        policy = JobPolicy(configuration: configuration.policy, taskCount: configuration.taskCount)
        wiring = configuration.wiringDelay == nil
    }

    /// The job's exit code: 128 + signal when interrupted, else the policy's (highest task status, the
    /// failure that ended the job, 124 after the time limit), never 0 after an agent failure.
    public var exitCode: Int32 {
        if let interrupted { return 128 + interrupted }
        let code = policy.exitCode(highestTaskStatus: tracker.exitCode)
        return failures.isEmpty && !abortedForFailure ? code : max(code, 1)
    }

    public mutating func handle(_ event: Event, now: ContinuousClock.Instant) -> [Action] {
        var out: [Action] = []
        switch event {
        case .start:
            break
        case .joined(let endpoints):
            guard configuration.launchesBeforeWiring, configuration.staging.isEmpty, !configuration.bootstrapOnly, !ending else { break }
            agents = endpoints
            out.append(.report(.joined(agents: endpoints)))
            launch(&out)
            if !wiring, let delay = configuration.wiringDelay { wireDue = now + delay }
        case .bootstrapped(let endpoints):
            bootstrapped(endpoints, now: now, &out)
        case .stagingReport(let report):
            stagingReport(report, now: now, &out)
        case .stagingProgress(let id, let bytes):
            stagingBytes[id] = bytes
            stagingProgressed(now: now, &out)
        case .agentFailed(let notice):
            agentFailed(notice, now: now, &out)
        case .output(let data):
            for chunk in sequencer.accept(data) {
                if chunk.isEndOfStream { tracker.streamEnded(task: Int(chunk.task), isError: chunk.stream == .stderr) }
                if chunk.data.readableBytes > 0 {
                    out.append(.report(.output(task: Int(chunk.task), stream: chunk.stream, data: chunk.data)))
                }
            }
            endStream(task: data.task, data.stream)
        case .taskExited(let node, let task, let status, let message, let output):
            if let output {
                streamChunks[StreamKey(task: UInt32(truncatingIfNeeded: task), stream: .stdout)] = output.stdout
                streamChunks[StreamKey(task: UInt32(truncatingIfNeeded: task), stream: .stderr)] = output.stderr
                endStream(task: UInt32(truncatingIfNeeded: task), .stdout)
                endStream(task: UInt32(truncatingIfNeeded: task), .stderr)
            }
            taskExited(node: node, task: task, status: status, message: message, now: now, &out)
        case .launchFailed(let node, let message):
            out.append(.report(.launchFailed(node: node, message: message)))
            tracker.abandon(tasks: layout.ranks(onNode: max(0, node - 1)), status: 127)
        case .interrupt(let signal):
            guard interrupted == nil else { break }
            interrupted = signal
            end("interrupted by signal \(signal)", &out)
        case .stepExited(let status, let unreported):
            guard !ending else { break }
            for rank in unreported {
                out.append(.spawnFailed(rank: rank, detail: "the agents' job step exited with status \(status) before this agent reported"))
            }
        case .wake:
            wakeRequested = nil  // whatever is still due is asked for again
            guard !ending else { break }
            if let due = wireDue, now >= due {
                wireDue = nil
                wiring = true
                out.append(.wire)
            }
            apply(policy.handle(.tick, now: now - started), &out)
            if let since = outputMissingSince, now - since >= configuration.lostOutputWait {
                end("all tasks exited; some output was lost with a failed agent", &out)
            }
        }
        // Once wired: tasks launched before wiring completed may all be done before it (see launchesBeforeWiring),
        // and no agent may still be dialling one that already left; a job whose go to wire never went out ends
        // over the tree (the controller takes the terminate before any go: both come from here, in order).
        if tracker.isComplete, bootstrapTime != nil || (launched && !wiring) {
            end("all tasks finished", &out)
        }
        scheduleWake(now: now, &out)
        return out
    }

    // MARK: Bootstrap, staging and launch

    private mutating func bootstrapped(_ endpoints: [AgentEndpoint], now: ContinuousClock.Instant, _ out: inout [Action]) {
        agents = endpoints
        let elapsed = now - started
        bootstrapTime = elapsed
        out.append(.report(.bootstrapped(agents: endpoints, elapsed: elapsed)))
        guard !ending else { return }
        if configuration.bootstrapOnly { return end("bootstrap finished", &out) }
        guard !configuration.staging.isEmpty else { return launch(&out) }
        let live = endpoints.map(\.rank).filter { $0 != 0 }
        let tracker = StagingTracker(offers: configuration.staging, nodes: live)
        staging = tracker
        stagingStarted = now
        out.append(.report(.stagingProgress(bytes: 0, total: tracker.totalBytes, nodesDone: 0, nodes: live.count)))
        out.append(.stage(configuration.staging))
    }

    private mutating func stagingReport(_ report: StagingReport, now: ContinuousClock.Instant, _ out: inout [Action]) {
        guard staging?.record(report) == true, !ending else { return }
        if report.outcome == .failed {
            out.append(.report(.launchFailed(node: report.node, message: "staging failed on node \(report.node - 1): \(report.detail)")))
            // The node's tasks will not run: they failed (as a launch failure does), whatever the policy.
            tracker.abandon(tasks: layout.ranks(onNode: max(0, report.node - 1)), status: 127)
            if configuration.onFailure == .abort {
                abortedForFailure = true
                return end("aborting: staging failed", &out)
            }
        }
        stagingProgressed(now: now, &out)
    }

    /// Reports staging progress; launches once every live node holds every file.
    private mutating func stagingProgressed(now: ContinuousClock.Instant, _ out: inout [Action]) {
        guard let staging, let stagingStarted else { return }
        out.append(.report(.stagingProgress(
            bytes: stagingBytes.values.reduce(0, +), total: staging.totalBytes, nodesDone: staging.nodesDone,
            nodes: staging.nodes.count)))
        guard staging.isComplete, !ending, stagingTime == nil else { return }
        let elapsed = now - stagingStarted
        stagingTime = elapsed
        let failedNodes = Set(staging.failedReports.map(\.node)).count
        out.append(.report(.staged(
            bytes: staging.totalBytes, nodes: staging.nodes.count - failedNodes, skipped: staging.skipped, elapsed: elapsed)))
        launch(&out)
    }

    private mutating func launch(_ out: inout [Action]) {
        guard !launched, !ending else { return }
        launched = true
        // Stdin goes to the node of the rank `--input` names, or to every node with tasks for all of them.
        let routes: [StdinRoute]
        switch configuration.stdinTarget {
        case .none: routes = []
        case .rank(let rank): routes = [StdinRoute(node: layout.node(ofRank: rank) + 1, task: UInt32(rank))]
        case .all:
            routes = (0..<configuration.nodeCount).filter { layout.taskCount(onNode: $0) > 0 }
                .map { StdinRoute(node: $0 + 1, task: StdinTarget.everyTask) }
        }
        out.append(.launch(stdin: routes))
    }

    // MARK: Failures and exits

    /// A stream whose length is known has ended once that many of its chunks are in order.
    private mutating func endStream(task: UInt32, _ stream: IOStream) {
        let key = StreamKey(task: task, stream: stream)
        guard let chunks = streamChunks[key], sequencer.delivered(task: task, stream: stream) >= chunks else { return }
        streamChunks[key] = nil
        tracker.streamEnded(task: Int(task), isError: stream == .stderr)
    }

    private mutating func agentFailed(_ notice: FailureNotice, now: ContinuousClock.Instant, _ out: inout [Action]) {
        out.append(.report(.failure(notice)))
        failures.append(notice)
        guard !ending else { return }
        staging?.nodeFailed(notice.rank)
        if notice.rank >= 1 && notice.rank <= configuration.nodeCount {
            tracker.abandon(tasks: layout.ranks(onNode: notice.rank - 1), status: 128 + SIGKILL)
        }
        if configuration.onFailure == .abort {
            abortedForFailure = true
            end("aborting after failure of agent \(notice.rank)", &out)
        } else {
            stagingProgressed(now: now, &out)
        }
    }

    private mutating func taskExited(
        node: Int, task: Int, status: Int32, message: String, now: ContinuousClock.Instant, _ out: inout [Action]
    ) {
        tracker.exited(task: task, status: status)
        out.append(.report(.taskEnded(TaskEnd(task: task, node: node - 1, status: status))))
        // A message with status 255 means the task's infrastructure failed (e.g. its VM crashed), not the task:
        // report it, and under the abort policy end the job like an agent failure. Any other message says why
        // the task could not start (126, 127, 1): the policy reports it.
        if message.isEmpty || status != TaskEnd.infrastructureFailureStatus {
            // An exit status is 0…255 (MPI_Abort's code may be any int: as the process would exit).
            let code = status >= 0 && status <= 255 ? status : (status & 0xff == 0 ? 1 : status & 0xff)
            let end = TaskEnd(task: task, node: node - 1, status: code, detail: message.isEmpty ? nil : message)
            apply(policy.handle(.taskExited(end), now: now - started), &out)
        } else {
            out.append(.report(.launchFailed(node: node, message: message)))
            if configuration.onFailure == .abort {
                abortedForFailure = true
                end("aborting: \(message)", &out)
            }
        }
    }

    /// Carries out what the policy asks.
    private mutating func apply(_ actions: [JobPolicy.Action], _ out: inout [Action]) {
        for action in actions {
            switch action {
            case .reportFailure(let end): out.append(.report(.taskFailed(end)))
            case .notice(let text): out.append(.report(.notice(text)))
            case .signalTasks where !launched: end("ended before its tasks started", &out)
            case .signalTasks(let number): out.append(.signalTasks(number, commandID: commandID()))
            case .end(let reason): end(reason, &out)
            }
        }
    }

    // MARK: Ending and deadlines

    private mutating func end(_ reason: String, _ out: inout [Action]) {
        guard !ending else { return }
        ending = true
        out.append(.report(.ending(reason: reason, exitCode: exitCode)))
        out.append(.terminate(commandID: commandID()))
    }

    private mutating func commandID() -> UInt64 {
        nextCommandID += 1
        return nextCommandID
    }

    /// Asks for a wake-up at the earliest deadline, when it changed: the policy's (time limit, escalation)
    /// and the lost-output wait.
    private mutating func scheduleWake(now: ContinuousClock.Instant, _ out: inout [Action]) {
        if tracker.exitedCount == tracker.taskCount && !tracker.isComplete {
            if outputMissingSince == nil { outputMissingSince = now }
        } else {
            outputMissingSince = nil
        }
        guard !ending else { return }
        let deadlines = [policy.deadline.map { started + $0 }, outputMissingSince.map { $0 + configuration.lostOutputWait }, wireDue]
        guard let next = deadlines.compactMap({ $0 }).min(), next != wakeRequested else { return }
        wakeRequested = next
        out.append(.wake(at: next))
    }
}
