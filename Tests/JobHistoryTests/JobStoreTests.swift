import Foundation
import Testing

@testable import JobHistory

@Suite struct JobStoreTests {
    let directory = NSTemporaryDirectory() + "vhpc-jobstore-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"

    func job(_ id: String, startedAt: Date, state: JobState = .completed, pid: Int32 = 1, ticks: UInt64 = 0) -> JobSummary {
        JobSummary(id: id, user: "root", command: "true", launcher: "local", nodes: 2, tasks: 4, fanout: 4,
                   state: state, exitCode: state.isFinal ? 0 : nil, startedAt: startedAt,
                   endedAt: state.isFinal ? startedAt.addingTimeInterval(1) : nil, frontEndPID: pid, frontEndStartTicks: ticks)
    }

    @Test func recordsAJobWithItsTasksAgentsFailuresAndVMs() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try JobStore(path: directory + "/jobs.sqlite")
        try store.begin(job("job-1-5", startedAt: Date(), state: .running))
        try store.setAgents([AgentRow(jobID: "job-1-5", rank: 0, host: "127.0.0.1", port: 4000, pid: 10)], job: "job-1-5")
        try store.setTasks([TaskOutcome(jobID: "job-1-5", rank: 0, node: 1, exitCode: 0, signal: nil),
                            TaskOutcome(jobID: "job-1-5", rank: 1, node: 2, exitCode: nil, signal: 11)], job: "job-1-5")
        try store.addFailure(FailureRow(jobID: "job-1-5", rank: 2, detector: "heartbeat", reporter: 0, message: "agent 2 failed"))
        try store.setVMs([JobVMRow(jobID: "job-1-5", rank: 1, node: 2, name: "tiny-r1", host: "n2", hypervisor: "qemu")], job: "job-1-5")
        try store.update(id: "job-1-5", state: .failed, exitCode: 139, endedAt: Date())

        let detail = try store.detail(id: "job-1-5")
        #expect(detail.job.state == .failed)
        #expect(detail.job.exitCode == 139)
        #expect(detail.tasks.map(\.signal) == [nil, 11])
        #expect(detail.agents.map(\.port) == [4000])
        #expect(detail.failures.map(\.detector) == ["heartbeat"])
        #expect(detail.vms.map(\.name) == ["tiny-r1"])
    }

    /// What `vhpc run` writes: the agents and `running` together, then the end with the tasks (and the agents
    /// only when they changed) together.
    @Test func runningAndEndedWriteAgentsTasksAndStateTogether() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try JobStore(path: directory + "/jobs.sqlite")
        try store.begin(job("job-3-1", startedAt: Date(), state: .starting))
        try store.running([AgentRow(jobID: "job-3-1", rank: 0, host: "127.0.0.1", port: 4000, pid: 10),
                           AgentRow(jobID: "job-3-1", rank: 1, host: "127.0.0.1", port: 4001, pid: 11)], job: "job-3-1")
        var detail = try store.detail(id: "job-3-1")
        #expect(detail.job.state == .running)
        #expect(detail.agents.map(\.rank) == [0, 1])
        try store.ended(id: "job-3-1", state: .failed, exitCode: 3, endedAt: Date(),
                        tasks: [TaskOutcome(jobID: "job-3-1", rank: 0, node: 1, exitCode: 3, signal: nil)])
        detail = try store.detail(id: "job-3-1")
        #expect(detail.job.state == .failed && detail.job.exitCode == 3 && detail.job.endedAt != nil)
        #expect(detail.tasks.map(\.exitCode) == [3])
        #expect(detail.agents.map(\.port) == [4000, 4001], "agents not given: kept")
        try store.ended(id: "job-3-1", state: .failed, exitCode: 3, endedAt: Date(), tasks: [],
                        agents: [AgentRow(jobID: "job-3-1", rank: 0, host: "127.0.0.1", port: 5000, pid: 10)])
        detail = try store.detail(id: "job-3-1")
        #expect(detail.agents.map(\.port) == [5000], "agents given: replaced")
        #expect(detail.tasks.map(\.exitCode) == [3], "no tasks given: kept")
    }

    /// Dates are written in GRDB's text form without a date formatter, and read back through GRDB's decoding.
    @Test func datesAreStoredInGRDBsTextFormAndReadBack() throws {
        #expect(HistoryDate.text(Date(timeIntervalSince1970: 1_700_000_000.123)) == "2023-11-14 22:13:20.123")
        #expect(HistoryDate.text(Date(timeIntervalSince1970: 0)) == "1970-01-01 00:00:00.000")
        #expect(HistoryDate.text(Date(timeIntervalSince1970: 951_782_399.9999)) == "2000-02-28 23:59:59.999")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try JobStore(path: directory + "/jobs.sqlite")
        let started = Date(timeIntervalSince1970: 1_800_000_000.25)
        try store.begin(job("job-7-1", startedAt: started, state: .running, ticks: 123_456_789))
        #expect(try store.detail(id: "job-7-1").job.endedAt == nil)
        try store.update(id: "job-7-1", state: .completed, exitCode: 0, endedAt: started.addingTimeInterval(2.5))
        try store.update(id: "job-7-1", state: .completed)  // no exit code, no end: both kept
        let stored = try store.detail(id: "job-7-1").job
        #expect(stored.startedAt == started)
        #expect(stored.endedAt == started.addingTimeInterval(2.5))
        #expect(stored.exitCode == 0 && stored.state == .completed && stored.frontEndStartTicks == 123_456_789)
    }

    @Test func resolvesUnambiguousPrefixesAndNamesTheCandidatesOtherwise() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try JobStore(path: directory + "/jobs.sqlite")
        try store.begin(job("job-100-1", startedAt: Date()))
        try store.begin(job("job-100-2", startedAt: Date()))
        try store.begin(job("job-200-7", startedAt: Date()))
        #expect(try store.resolve("2").id == "job-200-7")
        #expect(try store.resolve("job-100-2").id == "job-100-2")
        #expect(throws: JobStoreError.noSuchJob("9")) { try store.resolve("9") }
        do {
            _ = try store.resolve("100")
            Issue.record("an ambiguous prefix resolved")
        } catch let error as JobStoreError {
            guard case .ambiguous(_, let ids) = error else { Issue.record("\(error)"); return }
            #expect(Set(ids) == ["job-100-1", "job-100-2"])
        }
        // LIKE wildcards in the prefix are taken literally.
        #expect(throws: JobStoreError.noSuchJob("%")) { try store.resolve("%") }
    }

    @Test func prunesEndedJobsByAgeAndCountButNeverRunningOnes() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try JobStore(path: directory + "/jobs.sqlite", retention: .init(maxCount: 3, maxAge: 3600))
        let now = Date()
        try store.begin(job("old", startedAt: now.addingTimeInterval(-7200)), now: now)
        try store.begin(job("old-running", startedAt: now.addingTimeInterval(-7200), state: .running), now: now)
        #expect(try store.jobs().map(\.id) == ["old-running"])
        for index in 1...5 {
            try store.begin(job("j\(index)", startedAt: now.addingTimeInterval(Double(index))), now: now)
        }
        #expect(try store.jobs().map(\.id) == ["j5", "j4", "j3", "old-running"])
        #expect(try store.jobs(limit: 2).map(\.id) == ["j5", "j4"])
    }

    /// Pruning by count waits until the history holds a sixteenth more than it keeps (sorting every job on every
    /// start cost each run for one extra row), then goes back down to what it keeps, newest first.
    @Test func pruningByCountRunsInBatches() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try JobStore(path: directory + "/jobs.sqlite", retention: .init(maxCount: 16, maxAge: 3600))
        let start = Date()
        for index in 1...17 {
            try store.begin(job("j\(index)", startedAt: start.addingTimeInterval(Double(index)), state: .completed), now: start)
        }
        #expect(try store.jobs().count == 17)  // one over: within the batch
        try store.begin(job("j18", startedAt: start.addingTimeInterval(18), state: .completed), now: start)
        let kept = try store.jobs().map(\.id)
        #expect(kept.count == 16)
        #expect(kept.first == "j18" && !kept.contains("j1") && !kept.contains("j2"))
    }

    /// The write-ahead log is checkpointed when each job starts, so it stays about one job long: every `vhpc
    /// run` opens the history anew, and SQLite reads the whole log before the first query (with the automatic
    /// checkpoint alone it grew to 4 MB).
    @Test func theWriteAheadLogStaysAboutOneJobLong() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/jobs.sqlite"
        let store = try JobStore(path: path)
        var largest = 0
        for index in 1...60 {
            let id = "job-\(index)"
            try store.begin(job(id, startedAt: Date(), state: .starting))
            try store.running((0..<64).map { AgentRow(jobID: id, rank: $0, host: "127.0.0.1", port: 4000 + $0, pid: 10) }, job: id)
            let tasks = (0..<64).map { TaskOutcome(jobID: id, rank: $0, node: $0 + 1, exitCode: 0, signal: nil) }
            try store.ended(id: id, state: .completed, exitCode: 0, endedAt: Date(), tasks: tasks)
            largest = max(largest, (try FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? NSNumber)?.intValue ?? 0)
        }
        #expect(largest < 256 << 10, "the log reached \(largest) bytes")
        #expect(try store.jobs().count == 60)
    }

    @Test func aJobWhoseFrontEndIsGoneIsShownLost() throws {
        let me = getpid()
        let ticks = try #require(FrontEndLiveness.startTicks(of: me))
        let live = job("a", startedAt: Date(), state: .running, pid: me, ticks: ticks)
        #expect(FrontEndLiveness.displayState(live) == .running)
        // Same pid, another start time: the pid was reused.
        #expect(FrontEndLiveness.displayState(job("b", startedAt: Date(), state: .running, pid: me, ticks: ticks + 1)) == .lost)
        #expect(FrontEndLiveness.displayState(job("c", startedAt: Date(), state: .completed, pid: me, ticks: 0)) == .completed)
    }

    @Test func concurrentWritersFromSeveralStoresAllLand() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/jobs.sqlite"
        _ = try JobStore(path: path)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<4 {
                group.addTask {
                    let store = try JobStore(path: path)
                    for index in 0..<25 {
                        try store.begin(self.job("w\(writer)-\(index)", startedAt: Date()))
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(try JobStore(path: path).jobs().count == 100)
    }

    @Test func retentionSettingsComeFromTheEnvironmentAndBadOnesAreNamed() throws {
        #expect(try JobStore.Retention.from(environment: ["VHPC_JOBS_KEEP": "5", "VHPC_JOBS_KEEP_DAYS": "2"])
                == .init(maxCount: 5, maxAge: 2 * 86_400))
        #expect(throws: JobStoreError.badSetting("VHPC_JOBS_KEEP", "x")) {
            try JobStore.Retention.from(environment: ["VHPC_JOBS_KEEP": "x"])
        }
    }
}
