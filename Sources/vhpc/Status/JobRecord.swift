import Control
import Foundation

/// What `vhpc run` records about a job for `vhpc status`.
struct JobRecord: Codable {
    var jobID: String
    var frontEndPID: Int32
    var nodes: Int
    var tasks: Int
    var fanout: Int
    var command: String
    var state: String
    var started: Date
    var agents: [AgentEndpoint]
    var failures: [FailureNotice]

    /// `$VHPC_STATE_DIR/jobs`, default `~/.vhpc/jobs`.
    static var directory: URL {
        let base = ProcessInfo.processInfo.environment["VHPC_STATE_DIR"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".vhpc")
        return base.appendingPathComponent("jobs")
    }

    func save() throws {
        try FileManager.default.createDirectory(at: Self.directory, withIntermediateDirectories: true)
        let data = try JSONEncoder().encode(self)
        try data.write(to: Self.directory.appendingPathComponent("\(jobID).json"), options: .atomic)
    }

    static func loadAll() -> [JobRecord] {
        let files = (try? FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)) ?? []
        return files.filter { $0.pathExtension == "json" }
            .compactMap { try? JSONDecoder().decode(JobRecord.self, from: Data(contentsOf: $0)) }
            .sorted { $0.started < $1.started }
    }

    /// Whether the front-end is still running.
    var isLive: Bool { JobRunner.isAlive(frontEndPID) }
}
