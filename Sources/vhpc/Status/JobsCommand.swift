import ArgumentParser
import Foundation
import JobHistory
import TextReport

/// `vhpc jobs`: the job history, newest first (like `sacct`).
struct JobsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobs", abstract: "List the job history, newest first.",
        discussion: """
            Jobs are kept in $VHPC_HOME/jobs.sqlite; the ones that ended more than VHPC_JOBS_KEEP_DAYS \
            (default 30) days ago, and all but the newest VHPC_JOBS_KEEP (default 1000), are pruned when a \
            job starts (by count in batches, once a sixteenth more are recorded). A job whose front-end is gone \
            without recording an end is shown as 'lost'.
            """)

    @Option(name: [.customShort("n"), .long], help: "Show at most this many jobs.") var limit: Int = 50
    @Flag(help: "Print JSON (schema 1).") var json = false

    func validate() throws {
        guard limit >= 1 else { throw ValidationError("--limit must be at least 1") }
    }

    func run() throws {
        let store = try JobHistoryAccess.open()
        let jobs: [JobSummary]
        do { jobs = try store.jobs(limit: limit) } catch { throw CLIErrors.fail("\(error)") }
        if json {
            print(try JobHistoryAccess.json(JobHistoryAccess.JobListJSON(jobs: jobs.map { JobHistoryAccess.JobJSON($0) })))
            return
        }
        let formatter = ISO8601DateFormatter()
        var rows = [["JOB", "NAME", "STATE", "EXIT", "ELAPSED", "NODES", "TASKS", "STARTED", "COMMAND"]]
        for job in jobs {
            rows.append([
                job.id, job.name ?? "-", FrontEndLiveness.displayState(job).rawValue, job.exitCode.map { "\($0)" } ?? "-",
                JobHistoryAccess.elapsedText(job.elapsed()), "\(job.nodes)", "\(job.tasks)",
                formatter.string(from: job.startedAt), job.command,
            ])
        }
        print(TextTable.render(rows), terminator: "")
    }
}
