import Foundation

/// Whether a job's front-end process still runs: the pid must exist and have the start time recorded
/// for the job (a reused pid belongs to another process).
public enum FrontEndLiveness {
    /// Clock ticks since boot at which `pid` started (`/proc/PID/stat` field 22), nil if it does not exist.
    public static func startTicks(of pid: Int32) -> UInt64? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        // Fields after the command name (which may hold spaces and parentheses) start at field 3.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 19, fields[0] != "Z", fields[0] != "X" else { return nil }
        return UInt64(fields[19])
    }

    /// Whether `job`'s front-end is alive.
    public static func isAlive(_ job: JobSummary) -> Bool {
        startTicks(of: job.frontEndPID) == job.frontEndStartTicks
    }

    /// The state to show: a job that has not ended but whose front-end is gone is `lost`.
    public static func displayState(_ job: JobSummary) -> JobState {
        job.state.isFinal || isAlive(job) ? job.state : .lost
    }
}
