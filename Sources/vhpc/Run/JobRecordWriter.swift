import Control
import Foundation
import JobHistory
import NIOConcurrencyHelpers
import VSE

/// Records a running job in the job history (`$VHPC_HOME/jobs.sqlite`) for `vhpc status` and `vhpc jobs`.
/// Best effort: a history that cannot be written costs one warning, never the job.
final class JobRecordWriter: Sendable {
    let options: JobOptions
    private let store = NIOLockedValueBox<JobStore?>(nil)
    private let warned = NIOLockedValueBox(false)
    private let tasks = NIOLockedValueBox<[Int: TaskOutcome]>([:])
    /// The agents ``running(agents:)`` wrote (the job's end writes them again only if they changed).
    private let recordedAgents = NIOLockedValueBox<[AgentEndpoint]>([])
    /// The job's agents as last reported (joined, bootstrapped), for the end ``ending(exitCode:)`` writes.
    private let knownAgents = NIOLockedValueBox<[AgentEndpoint]>([])
    /// What ``ending(exitCode:)`` wrote: ``finish(state:exitCode:agents:)`` writes again only what changed.
    private let recordedEnd = NIOLockedValueBox<RecordedEnd?>(nil)

    private struct RecordedEnd: Equatable {
        var state: JobState
        var exitCode: Int32
        var tasks: [TaskOutcome]
    }
    /// Every write happens here, in order, off the job's critical path (opening SQLite and pruning the
    /// history must not delay the first agent's start); `finish` waits for all of them.
    private static let queue = DispatchQueue(label: "vhpc.job-history")
    /// The history, opened once per process on ``queue`` and left open until the process exits: closing the
    /// last connection checkpoints the WAL (three fdatasyncs, measured +20–30 ms at the end of every `vhpc
    /// run`); the next writer's automatic checkpoints take that over. The rows are committed either way.
    private static let history = NIOLockedValueBox<Result<JobStore, JobStoreError>?>(nil)

    /// Starts opening the history while the command line is still being parsed: SQLite's open, the WAL's
    /// set-up and the schema check (about 3 ms of CPU here, most of it first uses of GRDB's types) then run
    /// on the other core beside the single-threaded parse, not beside the job's start.
    static func openEarly() {
        queue.async { _ = opened(environment: ProcessInfo.processInfo.environment) }
    }

    /// On ``queue``: the history, opened by the first caller.
    private static func opened(environment: [String: String]) -> Result<JobStore, JobStoreError> {
        if let history = history.withLockedValue({ $0 }) { return history }
        let result = Result { () throws(JobStoreError) -> JobStore in
            try JobStore(path: databasePath(environment: environment), retention: try .from(environment: environment))
        }
        history.withLockedValue { $0 = result }
        return result
    }

    /// Opens the history and records the job as starting. `image` names the image of a `--vse` job, whose
    /// VMs are recorded by rank (named `<image>-r<rank>`, placed by the task layout).
    /// `environment` is the command's (VHPC_HOME, VHPC_JOBS_KEEP…), read once by it.
    init(options: JobOptions, name: String? = nil, image: (id: String, name: String)? = nil, hypervisor: String = "qemu",
         environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.options = options
        Self.queue.async { [self] in
            do {
                let startTicks = FrontEndLiveness.startTicks(of: getpid()) ?? 0
                let opened = try Self.opened(environment: environment).get()
                let job = JobSummary(
                    id: options.jobID, name: name, user: Self.userName(),
                    command: ([options.executable] + options.arguments).joined(separator: " "),
                    launcher: options.launcher, nodes: options.nodeCount, tasks: options.taskCount, fanout: options.fanout,
                    image: image?.id, frontEndPID: getpid(), frontEndStartTicks: startTicks)
                try opened.begin(job)
                if let image {
                    let layout = TaskLayout(tasks: options.taskCount, nodes: options.nodeCount)
                    let vms = (0..<options.taskCount).map { rank in
                        let node = layout.node(ofRank: rank)
                        return JobVMRow(jobID: options.jobID, rank: rank, node: node + 1, name: "\(image.name)-r\(rank)",
                                        host: node < options.hosts.count ? options.hosts[node] : "localhost", hypervisor: hypervisor)
                    }
                    try opened.setVMs(vms, job: options.jobID)
                }
                store.withLockedValue { $0 = opened }
            } catch {
                warn("\(error)")
            }
        }
    }

    /// `$VHPC_HOME/jobs.sqlite` (the state directory's default otherwise).
    static func databasePath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        StateDirectory.resolve(environment: environment).root + "/jobs.sqlite"
    }

    /// The agents joined the tree (a short job may end before they are all wired and `running` is written).
    func noteAgents(_ agents: [AgentEndpoint]) {
        knownAgents.withLockedValue { $0 = agents }
    }

    func running(agents: [AgentEndpoint]) {
        noteAgents(agents)
        record {
            try $0.running(self.rows(agents), job: self.options.jobID)
            self.recordedAgents.withLockedValue { $0 = agents }
        }
    }

    func noteFailure(_ notice: FailureNotice) {
        record {
            try $0.addFailure(FailureRow(jobID: self.options.jobID, rank: notice.rank, detector: notice.detector,
                                         reporter: notice.reporter, message: notice.description))
        }
    }

    /// Remembers how a task ended (written with the job's end, in one transaction).
    func noteTask(_ end: TaskEnd) {
        let outcome = TaskOutcome(jobID: options.jobID, rank: end.task, node: end.node + 1,
                                  exitCode: end.signal == nil ? end.status : nil, signal: end.signal)
        tasks.withLockedValue { $0[end.task] = outcome }
    }

    /// The job is ending with `exitCode` (its agents are being stopped): its end is written now, beside that
    /// teardown, rather than after it while the command waits to exit (~1.5 ms at N = 16 here).
    func ending(exitCode: Int32) {
        record { try self.writeEnd($0, exitCode: exitCode, agents: self.knownAgents.withLockedValue { $0 }) }
    }

    /// The job ended with `exitCode` (0: completed, else failed). Returns once everything recorded before is
    /// written; writes only what differs from the end ``ending(exitCode:)`` wrote.
    func finish(exitCode: Int32, agents: [AgentEndpoint] = []) {
        record(waiting: true) { try self.writeEnd($0, exitCode: exitCode, agents: agents) }
    }

    /// Writes the job's end (its state, exit code and tasks' outcomes, and `agents` when they differ from those
    /// written: 257 rows at N = 256) unless the same end was written already.
    private func writeEnd(_ store: JobStore, exitCode: Int32, agents: [AgentEndpoint]) throws {
        let changed = !agents.isEmpty && agents != recordedAgents.withLockedValue({ $0 })
        let end = RecordedEnd(state: exitCode == 0 ? .completed : .failed, exitCode: exitCode, tasks: endedTasks())
        if !changed, recordedEnd.withLockedValue({ $0 }) == end { return }
        try store.ended(id: options.jobID, state: end.state, exitCode: end.exitCode, endedAt: Date(), tasks: end.tasks,
                        agents: changed ? rows(agents) : nil)
        if changed { recordedAgents.withLockedValue { $0 = agents } }
        recordedEnd.withLockedValue { $0 = end }
    }

    private func endedTasks() -> [TaskOutcome] {
        tasks.withLockedValue { $0.values.sorted { $0.rank < $1.rank } }
    }

    private func rows(_ agents: [AgentEndpoint]) -> [AgentRow] {
        agents.map { AgentRow(jobID: options.jobID, rank: $0.rank, host: $0.host, port: $0.port, pid: $0.pid) }
    }

    private func record(waiting: Bool = false, _ body: @escaping @Sendable (JobStore) throws -> Void) {
        let work: @Sendable () -> Void = { [self] in
            guard let store = store.withLockedValue({ $0 }) else { return }
            do { try body(store) } catch { warn("\(error)") }
        }
        if waiting { Self.queue.sync(execute: work) } else { Self.queue.async(execute: work) }
    }

    private func warn(_ message: String) {
        let first = warned.withLockedValue { warned in
            defer { warned = true }
            return !warned
        }
        if first { CLIErrors.printError("vhpc: warning: job not recorded in the history: \(message)") }
    }

    static func userName() -> String {
        if let entry = getpwuid(getuid()), let name = entry.pointee.pw_name { return String(cString: name) }
        return "\(getuid())"
    }
}
