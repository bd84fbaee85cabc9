import Foundation
import GRDB

/// One job in the history: what was run, where, when, and how it ended.
public struct JobSummary: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "jobs"

    public var id: String
    public var name: String?
    public var user: String
    public var command: String
    public var launcher: String
    public var nodes: Int
    public var tasks: Int
    public var fanout: Int
    /// Image id of a `--vse` job.
    public var image: String?
    public var state: JobState
    public var exitCode: Int32?
    public var startedAt: Date
    public var endedAt: Date?
    public var frontEndPID: Int32
    /// The front-end's start time in clock ticks since boot (`/proc/PID/stat` field 22): a pid that was
    /// reused by another process does not make a lost job look alive.
    public var frontEndStartTicks: UInt64

    public init(
        id: String, name: String? = nil, user: String, command: String, launcher: String, nodes: Int, tasks: Int,
        fanout: Int, image: String? = nil, state: JobState = .starting, exitCode: Int32? = nil,
        startedAt: Date = Date(), endedAt: Date? = nil, frontEndPID: Int32, frontEndStartTicks: UInt64
    ) {
        self.id = id
        self.name = name
        self.user = user
        self.command = command
        self.launcher = launcher
        self.nodes = nodes
        self.tasks = tasks
        self.fanout = fanout
        self.image = image
        self.state = state
        self.exitCode = exitCode
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.frontEndPID = frontEndPID
        self.frontEndStartTicks = frontEndStartTicks
    }

    /// The row's columns, written out (not through `Encodable`: a job's start and end write these, and the
    /// generic encoder's dynamic casts and the date formatter were most of the history's CPU in a short job).
    public func encode(to container: inout PersistenceContainer) {
        container["id"] = id
        container["name"] = name
        container["user"] = user
        container["command"] = command
        container["launcher"] = launcher
        container["nodes"] = nodes
        container["tasks"] = tasks
        container["fanout"] = fanout
        container["image"] = image
        container["state"] = state
        container["exitCode"] = exitCode
        container["startedAt"] = HistoryDate.text(startedAt)
        container["endedAt"] = endedAt.map(HistoryDate.text)
        container["frontEndPID"] = frontEndPID
        container["frontEndStartTicks"] = Int64(bitPattern: frontEndStartTicks)
    }

    /// Seconds from start to end, or to `now` while the job runs.
    public func elapsed(now: Date = Date()) -> TimeInterval {
        (endedAt ?? now).timeIntervalSince(startedAt)
    }
}

/// Where a job is in its life. `lost` is never stored: it is what a `starting` or `running` job whose
/// front-end is gone is shown as.
public enum JobState: String, Codable, Sendable, DatabaseValueConvertible, CaseIterable {
    case starting, running, completed, failed, cancelled, timeout, lost

    /// Whether the job has ended.
    public var isFinal: Bool { ![.starting, .running].contains(self) }
}
