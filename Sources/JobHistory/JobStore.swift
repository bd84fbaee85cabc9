import Foundation
import GRDB

/// The job history: one SQLite database (`$VHPC_HOME/jobs.sqlite`, WAL, so concurrent jobs and readers do
/// not block each other), pruned by age and count on every new job.
public final class JobStore: Sendable {
    public let path: String
    public let retention: Retention
    private let pool: DatabasePool

    /// How much history is kept: jobs that ended more than `maxAge` ago, and all but the newest `maxCount`
    /// jobs, are removed (running jobs never are); by count in batches, once `maxCount / 16` more are recorded.
    public struct Retention: Sendable, Equatable {
        public var maxCount: Int
        public var maxAge: TimeInterval

        public init(maxCount: Int = 1000, maxAge: TimeInterval = 30 * 86_400) {
            self.maxCount = maxCount
            self.maxAge = maxAge
        }

        /// `VHPC_JOBS_KEEP` (count) and `VHPC_JOBS_KEEP_DAYS` (days) override the defaults.
        public static func from(environment: [String: String]) throws(JobStoreError) -> Retention {
            var retention = Retention()
            if let text = environment["VHPC_JOBS_KEEP"] {
                guard let count = Int(text), count >= 1 else { throw .badSetting("VHPC_JOBS_KEEP", text) }
                retention.maxCount = count
            }
            if let text = environment["VHPC_JOBS_KEEP_DAYS"] {
                guard let days = Double(text), days > 0 else { throw .badSetting("VHPC_JOBS_KEEP_DAYS", text) }
                retention.maxAge = days * 86_400
            }
            return retention
        }
    }

    /// Opens (creating if needed) the database at `path`; its directory is created 0700.
    public init(path: String, retention: Retention = Retention()) throws(JobStoreError) {
        self.path = path
        self.retention = retention
        let directory = (path as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            var configuration = Configuration()
            configuration.busyMode = .timeout(10)
            pool = try DatabasePool(path: path, configuration: configuration)
            try Self.migrator.migrate(pool)
        } catch {
            throw .cannotOpen(path, "\(error)")
        }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.create(table: JobSummary.databaseTableName) { t in
                t.primaryKey("id", .text)
                t.column("name", .text)
                t.column("user", .text).notNull()
                t.column("command", .text).notNull()
                t.column("launcher", .text).notNull()
                t.column("nodes", .integer).notNull()
                t.column("tasks", .integer).notNull()
                t.column("fanout", .integer).notNull()
                t.column("image", .text)
                t.column("state", .text).notNull()
                t.column("exitCode", .integer)
                t.column("startedAt", .datetime).notNull().indexed()
                t.column("endedAt", .datetime)
                t.column("frontEndPID", .integer).notNull()
                t.column("frontEndStartTicks", .integer).notNull()
            }
            try db.create(table: TaskOutcome.databaseTableName) { t in
                t.column("jobID", .text).notNull().references(JobSummary.databaseTableName, onDelete: .cascade)
                t.column("rank", .integer).notNull()
                t.column("node", .integer).notNull()
                t.column("exitCode", .integer)
                t.column("signal", .integer)
                t.primaryKey(["jobID", "rank"])
            }
            try db.create(table: AgentRow.databaseTableName) { t in
                t.column("jobID", .text).notNull().references(JobSummary.databaseTableName, onDelete: .cascade)
                t.column("rank", .integer).notNull()
                t.column("host", .text).notNull()
                t.column("port", .integer).notNull()
                t.column("pid", .integer).notNull()
                t.primaryKey(["jobID", "rank"])
            }
            try db.create(table: FailureRow.databaseTableName) { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("jobID", .text).notNull().indexed().references(JobSummary.databaseTableName, onDelete: .cascade)
                t.column("rank", .integer).notNull()
                t.column("detector", .text).notNull()
                t.column("reporter", .integer).notNull()
                t.column("message", .text).notNull()
            }
            try db.create(table: JobVMRow.databaseTableName) { t in
                t.column("jobID", .text).notNull().references(JobSummary.databaseTableName, onDelete: .cascade)
                t.column("rank", .integer).notNull()
                t.column("node", .integer).notNull()
                t.column("name", .text).notNull()
                t.column("host", .text).notNull()
                t.column("hypervisor", .text).notNull()
                t.primaryKey(["jobID", "rank"])
            }
        }
        return migrator
    }

    /// Checkpoints the write-ahead log (see ``checkpoint()``), then records a new job and prunes old history.
    /// The checkpoint comes first: the first write after a complete one starts the log over, and that write
    /// syncs the log's new header (fdatasync, 2 ms here) — this one, beside the job's start, rather than the
    /// job's last write, which the command waits for before it exits.
    public func begin(_ job: JobSummary, now: Date = Date()) throws(JobStoreError) {
        try checkpoint()
        try write { db in
            try Self.insert([job], db)
            try Self.prune(db, retention: self.retention, now: now)
        }
    }

    /// Copies the write-ahead log into the database (SQLite's passive checkpoint: it waits for no one).
    /// Every `vhpc run` opens the history anew, and the first connection to a database rebuilds the log's index
    /// by reading the whole log: left to SQLite's automatic checkpoint (at 1,000 pages) the log held up to 4 MB,
    /// ~5 ms of CPU in every run's start (measured: open and first query 6.1 ms with a 4.2 MB log, 0.5 ms
    /// without). Checkpointed at each job's start, it holds about one job's pages; this runs beside the job's
    /// start, not on its way to the first task or its exit.
    /// A checkpoint another connection is running at the same moment (jobs starting together) answers busy at
    /// once — a passive checkpoint never waits — and that one keeps the log short as well: not an error.
    private func checkpoint() throws(JobStoreError) {
        do {
            try pool.writeWithoutTransaction { db in _ = try db.checkpoint(.passive) }
        } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY || error.resultCode == .SQLITE_LOCKED {
            return
        } catch {
            throw .failed(path, "\(error)")
        }
    }

    /// Sets a job's state (and, for a final state, its exit code and end time).
    public func update(id: String, state: JobState, exitCode: Int32? = nil, endedAt: Date? = nil) throws(JobStoreError) {
        try write { db in try Self.update(db, id: id, state: state, exitCode: exitCode, endedAt: endedAt) }
    }

    /// Replaces the job's agent endpoints.
    public func setAgents(_ agents: [AgentRow], job id: String) throws(JobStoreError) {
        try write { db in try Self.replace(AgentRow.self, with: agents, job: id, db) }
    }

    /// Replaces the job's task outcomes.
    public func setTasks(_ tasks: [TaskOutcome], job id: String) throws(JobStoreError) {
        try write { db in try Self.replace(TaskOutcome.self, with: tasks, job: id, db) }
    }

    /// The job runs on `agents`: its agents and its `running` state in one transaction.
    public func running(_ agents: [AgentRow], job id: String) throws(JobStoreError) {
        try write { db in
            try Self.replace(AgentRow.self, with: agents, job: id, db)
            try Self.update(db, id: id, state: .running)
        }
    }

    /// The job ended: its tasks' outcomes (when any), its agents (when given) and its final state, in one
    /// transaction (a commit each cost the end of every run its own WAL append).
    public func ended(
        id: String, state: JobState, exitCode: Int32, endedAt: Date, tasks: [TaskOutcome], agents: [AgentRow]? = nil
    ) throws(JobStoreError) {
        try write { db in
            if let agents { try Self.replace(AgentRow.self, with: agents, job: id, db) }
            if !tasks.isEmpty { try Self.replace(TaskOutcome.self, with: tasks, job: id, db) }
            try Self.update(db, id: id, state: state, exitCode: exitCode, endedAt: endedAt)
        }
    }

    static func update(_ db: Database, id: String, state: JobState, exitCode: Int32? = nil, endedAt: Date? = nil) throws {
        try db.execute(
            sql: "UPDATE jobs SET state = ?, exitCode = COALESCE(?, exitCode), endedAt = COALESCE(?, endedAt) WHERE id = ?",
            arguments: [state.rawValue, exitCode, endedAt.map(HistoryDate.text), id])
    }

    /// Deletes the job's rows of `Row`'s table and inserts `rows`.
    static func replace<Row: PersistableRecord>(_: Row.Type, with rows: [Row], job id: String, _ db: Database) throws {
        try Row.filter(Column("jobID") == id).deleteAll(db)
        try insert(rows, db)
    }

    /// Inserts `rows` (of one table, every row the same columns) with one statement built from their own
    /// columns (`encode(to:)`). GRDB's `insert` first reads the table's primary key from the schema, a few
    /// PRAGMA queries per table on every new connection, so in every `vhpc run`: ~1 ms of its CPU here.
    static func insert<Row: PersistableRecord>(_ rows: [Row], _ db: Database) throws {
        guard let first = rows.first else { return }
        let columns = try first.databaseDictionary.keys.sorted()
        let statement = try db.makeStatement(sql: """
            INSERT INTO \(Row.databaseTableName.quotedDatabaseIdentifier) \
            (\(columns.map(\.quotedDatabaseIdentifier).joined(separator: ", "))) \
            VALUES (\(databaseQuestionMarks(count: columns.count)))
            """)
        for row in rows {
            let values = try row.databaseDictionary
            try statement.execute(arguments: StatementArguments(columns.map { values[$0] ?? .null }))
        }
    }

    /// Replaces the job's VMs.
    public func setVMs(_ vms: [JobVMRow], job id: String) throws(JobStoreError) {
        try write { db in try Self.replace(JobVMRow.self, with: vms, job: id, db) }
    }

    /// Adds a detected failure.
    public func addFailure(_ failure: FailureRow) throws(JobStoreError) {
        try write { db in try failure.insert(db) }
    }

    /// Jobs, newest first.
    public func jobs(limit: Int? = nil) throws(JobStoreError) -> [JobSummary] {
        try read { db in
            var request = JobSummary.order(Column("startedAt").desc, Column("id").desc)
            if let limit { request = request.limit(limit) }
            return try request.fetchAll(db)
        }
    }

    /// The job whose id is `idOrPrefix` or the only one starting with it (or with `job-` + it).
    public func resolve(_ idOrPrefix: String) throws(JobStoreError) -> JobSummary {
        let matches: [JobSummary] = try read { db in
            if let exact = try JobSummary.fetchOne(db, key: idOrPrefix) { return [exact] }
            let escaped = idOrPrefix.replacingOccurrences(of: "\\", with: "\\\\")
                .replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_")
            return try JobSummary.fetchAll(
                db, sql: "SELECT * FROM jobs WHERE id LIKE ? ESCAPE '\\' OR id LIKE ? ESCAPE '\\' OR name = ? ORDER BY startedAt DESC LIMIT 11",
                arguments: [escaped + "%", "job-" + escaped + "%", idOrPrefix])
        }
        switch matches.count {
        case 0: throw .noSuchJob(idOrPrefix)
        case 1: return matches[0]
        default: throw .ambiguous(idOrPrefix, matches.prefix(10).map(\.id))
        }
    }

    /// Everything recorded about job `id`.
    public func detail(id: String) throws(JobStoreError) -> JobDetail {
        try read { db in
            guard let job = try JobSummary.fetchOne(db, key: id) else { throw JobStoreError.noSuchJob(id) }
            let byJob = Column("jobID") == id
            return JobDetail(
                job: job,
                tasks: try TaskOutcome.filter(byJob).order(Column("rank")).fetchAll(db),
                agents: try AgentRow.filter(byJob).order(Column("rank")).fetchAll(db),
                failures: try FailureRow.filter(byJob).order(Column("id")).fetchAll(db),
                vms: try JobVMRow.filter(byJob).order(Column("rank")).fetchAll(db))
        }
    }

    /// Removes ended jobs beyond the retention policy.
    public func prune(now: Date = Date()) throws(JobStoreError) {
        try write { db in try Self.prune(db, retention: self.retention, now: now) }
    }

    /// By age through the `startedAt` index; by count only once the history holds `maxCount` plus a sixteenth
    /// (then down to `maxCount`): deleting beyond the newest `maxCount` sorts every job, which every job's start
    /// paid for its one extra row (1.2 ms a run under perf at 1,000 jobs).
    static func prune(_ db: Database, retention: Retention, now: Date) throws {
        let ended = ![JobState.starting.rawValue, JobState.running.rawValue].contains(Column("state"))
        try JobSummary.filter(ended && Column("startedAt") < HistoryDate.text(now.addingTimeInterval(-retention.maxAge))).deleteAll(db)
        let count = try Int.fetchOne(db, sql: "SELECT count(*) FROM jobs") ?? 0
        guard count > retention.maxCount + retention.maxCount / 16 else { return }
        try db.execute(sql: """
            DELETE FROM jobs WHERE state NOT IN ('starting', 'running') AND id NOT IN
              (SELECT id FROM jobs ORDER BY startedAt DESC, id DESC LIMIT ?)
            """, arguments: [retention.maxCount])
    }

    private func write(_ body: @escaping @Sendable (Database) throws -> Void) throws(JobStoreError) {
        do {
            try pool.write { db in try body(db) }  // foreign keys are on for every connection (GRDB's default)
        } catch let error as JobStoreError {
            throw error
        } catch {
            throw .failed(path, "\(error)")
        }
    }

    private func read<T>(_ body: @escaping @Sendable (Database) throws -> T) throws(JobStoreError) -> T {
        do {
            return try pool.read(body)
        } catch let error as JobStoreError {
            throw error
        } catch {
            throw .failed(path, "\(error)")
        }
    }
}

/// A job-history failure, naming the database or the job.
public enum JobStoreError: Error, CustomStringConvertible, Equatable {
    case cannotOpen(String, String)
    case failed(String, String)
    case noSuchJob(String)
    case ambiguous(String, [String])
    case badSetting(String, String)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason): "cannot open the job history \(path): \(reason)"
        case .failed(let path, let reason): "job history \(path): \(reason)"
        case .noSuchJob(let id): "no such job: \(id)"
        case .ambiguous(let prefix, let ids): "job id '\(prefix)' is ambiguous: \(ids.joined(separator: ", "))"
        case .badSetting(let name, let value): "\(name)=\(value): expected a positive number"
        }
    }
}
