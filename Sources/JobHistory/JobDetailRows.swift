import Foundation
import GRDB

/// How one task of a job ended.
public struct TaskOutcome: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "job_tasks"

    public var jobID: String
    public var rank: Int
    /// Agent rank of the node the task ran on (1…N).
    public var node: Int
    /// Exit code when the task exited, nil when a signal ended it.
    public var exitCode: Int32?
    /// Signal number when a signal ended it.
    public var signal: Int32?

    public init(jobID: String, rank: Int, node: Int, exitCode: Int32?, signal: Int32?) {
        self.jobID = jobID
        self.rank = rank
        self.node = node
        self.exitCode = exitCode
        self.signal = signal
    }

    /// The row's columns, written out (every task's row is written at the job's end).
    public func encode(to container: inout PersistenceContainer) {
        container["jobID"] = jobID
        container["rank"] = rank
        container["node"] = node
        container["exitCode"] = exitCode
        container["signal"] = signal
    }
}

/// Where one agent of a job listened (rank 0 is the controller in the front-end).
public struct AgentRow: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "job_agents"

    public var jobID: String
    public var rank: Int
    public var host: String
    public var port: Int
    public var pid: Int32

    public init(jobID: String, rank: Int, host: String, port: Int, pid: Int32) {
        self.jobID = jobID
        self.rank = rank
        self.host = host
        self.port = port
        self.pid = pid
    }

    /// The row's columns, written out (every agent's row is written once the job runs).
    public func encode(to container: inout PersistenceContainer) {
        container["jobID"] = jobID
        container["rank"] = rank
        container["host"] = host
        container["port"] = port
        container["pid"] = pid
    }
}

/// An agent failure the job's detectors reported.
public struct FailureRow: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "job_failures"

    public var jobID: String
    public var rank: Int
    public var detector: String
    public var reporter: Int
    public var message: String

    public init(jobID: String, rank: Int, detector: String, reporter: Int, message: String) {
        self.jobID = jobID
        self.rank = rank
        self.detector = detector
        self.reporter = reporter
        self.message = message
    }
}

/// A VM a `--vse` job ran a task in.
public struct JobVMRow: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "job_vms"

    public var jobID: String
    public var rank: Int
    public var node: Int
    public var name: String
    public var host: String
    public var hypervisor: String

    public init(jobID: String, rank: Int, node: Int, name: String, host: String, hypervisor: String) {
        self.jobID = jobID
        self.rank = rank
        self.node = node
        self.name = name
        self.host = host
        self.hypervisor = hypervisor
    }
}

/// A job with everything recorded about it.
public struct JobDetail: Codable, Sendable, Equatable {
    public var job: JobSummary
    public var tasks: [TaskOutcome]
    public var agents: [AgentRow]
    public var failures: [FailureRow]
    public var vms: [JobVMRow]
}
