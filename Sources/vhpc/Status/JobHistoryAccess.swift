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

    /// One job as `vhpc jobs --json` and `vhpc status --json` show it.
    struct JobJSON: Encodable {
        var id: String
        var name: String?
        var user: String
        var state: String
        var exitCode: Int32?
        var command: String
        var launcher: String
        var nodes: Int
        var tasks: Int
        var fanout: Int
        var image: String?
        var startedAt: Date
        var endedAt: Date?
        var elapsedSeconds: Double
        var frontEndPID: Int32

        init(_ job: JobSummary, now: Date = Date()) {
            id = job.id
            name = job.name
            user = job.user
            state = FrontEndLiveness.displayState(job).rawValue
            exitCode = job.exitCode
            command = job.command
            launcher = job.launcher
            nodes = job.nodes
            tasks = job.tasks
            fanout = job.fanout
            image = job.image
            startedAt = job.startedAt
            endedAt = job.endedAt
            elapsedSeconds = (job.elapsed(now: now) * 1000).rounded() / 1000
            frontEndPID = job.frontEndPID
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
        if let signal = task.signal { return "signal \(signal)" + (signalName(signal).map { " (\($0))" } ?? "") }
        return task.exitCode.map { "exit \($0)" } ?? "-"
    }

    static func signalName(_ number: Int32) -> String? {
        let names: [Int32: String] = [1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 6: "SIGABRT", 7: "SIGBUS",
                                      8: "SIGFPE", 9: "SIGKILL", 11: "SIGSEGV", 13: "SIGPIPE", 14: "SIGALRM", 15: "SIGTERM"]
        return names[number]
    }
}
