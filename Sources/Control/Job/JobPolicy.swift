/// The front-end's rules for ending a job, as a sans-I/O state machine (``JobMachine`` feeds it task exits, and
/// ticks at its ``deadline``, with the time since the job started, and carries out its actions):
///
/// - every task that fails on its own (non-zero exit or a signal, or an MPI rank's exit without MPI_Finalize)
///   is reported once;
/// - under kill-on-bad-exit (the default, like mpirun/hydra and `srun -K`) the first such failure ends the
///   job, and so does the time limit: every task gets SIGTERM, then SIGKILL after `killWait` (Slurm's
///   KillWait); their last output still arrives, and the job ends when every task has reported (or, for
///   tasks that never report, `giveUpAfter` after SIGKILL);
/// - the exit code: the highest status among the failures that ended the job (tasks it terminated do not
///   count: `3`, not `143`), 124 after the time limit (as `timeout(1)`), else the highest task status; never
///   0 when a failure was reported.
public struct JobPolicy: Sendable {
    /// What the user chose (`-K`, `--time`) and the escalation delays.
    public struct Configuration: Sendable, Hashable {
        /// End the job when a task exits non-zero or is killed by a signal.
        public var killOnBadExit = true
        /// SIGTERM → SIGKILL.
        public var killWait: Duration = .seconds(2)
        /// SIGKILL → end the job without the reports of tasks that never sent them.
        public var giveUpAfter: Duration = .seconds(3)
        /// Wall-clock limit from the job's start (nil: none).
        public var timeLimit: Duration?

        public init(killOnBadExit: Bool = true, killWait: Duration = .seconds(2), giveUpAfter: Duration = .seconds(3),
                    timeLimit: Duration? = nil) {
            self.killOnBadExit = killOnBadExit
            self.killWait = killWait
            self.giveUpAfter = giveUpAfter
            self.timeLimit = timeLimit
        }
    }

    public enum Event: Sendable, Hashable {
        /// A task exited (reported by its node).
        case taskExited(TaskEnd)
        /// Time passed.
        case tick
    }

    public enum Action: Sendable, Hashable {
        /// Tell the user: `vhpc: task 2 (node 1): exited with exit code 3`.
        case reportFailure(TaskEnd)
        /// Tell the user why the job is being ended.
        case notice(String)
        /// Deliver a signal to every task of the job.
        case signalTasks(Int32)
        /// End the job now (terminate the agents).
        case end(reason: String)
    }

    /// Why the policy ended the job.
    public enum Cause: Sendable, Hashable {
        case badExit(TaskEnd)
        case timeLimit(Duration)
    }

    enum Phase: Sendable, Hashable {
        case running
        case terminating(since: Duration)
        case killing(since: Duration)
        case ended
    }

    /// Exit code of a job ended by its time limit.
    public static let timeLimitExitCode: Int32 = 124

    public let configuration: Configuration
    public let taskCount: Int
    private(set) var phase: Phase = .running
    /// Why the policy is ending the job, if it is.
    public private(set) var cause: Cause?
    /// Tasks that failed on their own, in the order they were reported.
    public private(set) var failures: [TaskEnd] = []
    private var exited: Set<Int> = []

    public init(configuration: Configuration, taskCount: Int) {
        self.configuration = configuration
        self.taskCount = taskCount
    }

    public mutating func handle(_ event: Event, now: Duration) -> [Action] {
        switch event {
        case .taskExited(let end):
            return taskExited(end, now: now)
        case .tick:
            return tick(now: now)
        }
    }

    /// When the policy next needs a `.tick`, as time since the job started (the time limit, or the next step
    /// of the escalation); nil: no deadline.
    public var deadline: Duration? {
        switch phase {
        case .running: configuration.timeLimit
        case .terminating(let since): since + configuration.killWait
        case .killing(let since): since + configuration.giveUpAfter
        case .ended: nil
        }
    }

    /// The job's exit code, given the highest task status the tracker saw.
    public func exitCode(highestTaskStatus: Int32) -> Int32 {
        switch cause {
        case .timeLimit: return Self.timeLimitExitCode
        case .badExit: return max(1, failures.map(\.status).max() ?? highestTaskStatus)
        case nil: return failures.isEmpty ? highestTaskStatus : max(1, highestTaskStatus)
        }
    }

    private mutating func taskExited(_ end: TaskEnd, now: Duration) -> [Action] {
        guard exited.insert(end.task).inserted else { return [] }
        // Status 0 with a detail: an MPI rank that exited without MPI_Finalize (its job is broken).
        guard end.status != 0 || end.detail != nil else { return [] }
        // Once the job is being ended, exits are its consequence (143 after SIGTERM, an MPI rank aborting
        // because a peer is gone), not failures; a task that could not start at all is still reported.
        guard phase == .running else {
            return end.detail.map(TaskStartFailure.describes) == true ? [.reportFailure(end)] : []
        }
        failures.append(end)
        var actions: [Action] = [.reportFailure(end)]
        if configuration.killOnBadExit {
            cause = .badExit(end)
            actions += terminate(
                now: now, notice: "terminating the job after task \(end.task) failed (-K 0 lets the other tasks finish)")
        }
        return actions
    }

    private mutating func tick(now: Duration) -> [Action] {
        switch phase {
        case .running:
            guard let limit = configuration.timeLimit, now >= limit else { return [] }
            cause = .timeLimit(limit)
            return terminate(now: now, notice: "time limit of \(Self.format(limit)) reached: terminating the job")
        case .terminating(let since):
            guard now - since >= configuration.killWait else { return [] }
            phase = .killing(since: now)
            return [.signalTasks(9)]
        case .killing(let since):
            guard now - since >= configuration.giveUpAfter else { return [] }
            phase = .ended
            return [.end(reason: "tasks did not report their exit \(Self.format(configuration.giveUpAfter)) after SIGKILL")]
        case .ended:
            return []
        }
    }

    private mutating func terminate(now: Duration, notice: String) -> [Action] {
        guard exited.count < taskCount else {
            phase = .ended  // nothing left to stop; the job ends as its last output arrives
            return []
        }
        phase = .terminating(since: now)
        return [.notice(notice), .signalTasks(15)]
    }

    /// `90 s`, `1500 ms`.
    static func format(_ duration: Duration) -> String {
        let milliseconds = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
        return milliseconds % 1000 == 0 ? "\(milliseconds / 1000) s" : "\(milliseconds) ms"
    }
}
