import Control
import Foundation
import JobHistory

/// Opens the job history for the read-only commands (`status`, `jobs`) and encodes it as JSON.
enum JobHistoryAccess {
    static func open() throws -> JobStore {
        do {
            return try JobStore(path: JobRecordWriter.databasePath(),
                                retention: try .from(environment: ProcessInfo.processInfo.environment))
        } catch {
            throw CLIErrors.fail("\(error)")
        }
    }

    /// The stable JSON form (`schema` 1): ISO 8601 dates, the displayed state (`lost` for a job whose
    /// front-end is gone), elapsed seconds.
    static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// One job as `vhpc jobs --json` and `vhpc status --json` show it: the recorded job with the state shown
    /// (`lost` when its front-end is gone) and `elapsedSeconds` added.
    struct JobJSON: Encodable {
        var job: JobSummary
        var now = Date()

        init(_ job: JobSummary) {
            self.job = job
        }

        private enum Extra: String, CodingKey { case elapsedSeconds }

        func encode(to encoder: any Encoder) throws {
            var shown = job
            shown.state = FrontEndLiveness.displayState(job)
            try shown.encode(to: encoder)
            var extra = encoder.container(keyedBy: Extra.self)
            try extra.encode((job.elapsed(now: now) * 1000).rounded() / 1000, forKey: .elapsedSeconds)
        }
    }

    struct JobListJSON: Encodable {
        var schema = 1
        var jobs: [JobJSON]
    }

    struct JobDetailJSON: Encodable {
        var schema = 1
        var job: JobJSON
        var tasks: [TaskOutcome]
        var agents: [AgentRow]
        var failures: [FailureRow]
        var vms: [JobVMRow]
    }

    /// `1.234s`, `2m03s`, `1h02m`.
    static func elapsedText(_ seconds: TimeInterval) -> String {
        if seconds < 60 { return String(format: "%.3fs", seconds) }
        let whole = Int(seconds)
        if whole < 3600 { return String(format: "%dm%02ds", whole / 60, whole % 60) }
        return String(format: "%dh%02dm", whole / 3600, (whole % 3600) / 60)
    }

    /// `exit 3`, `signal 11 (SIGSEGV)`.
    static func outcomeText(_ task: TaskOutcome) -> String {
        if let signal = task.signal { return "signal \(signal)" + (TaskEnd.signalName(signal).map { " (\($0))" } ?? "") }
        return task.exitCode.map { "exit \($0)" } ?? "-"
    }
}
