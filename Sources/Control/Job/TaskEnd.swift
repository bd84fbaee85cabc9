#if canImport(Glibc)
import Glibc
#endif

/// How one task ended, as the front-end reports a failure: `task 2 (node 1): exited with exit code 3` or
/// `task 0 (node 0): killed by signal 11 (SIGSEGV)`.
///
/// Statuses follow the shell's convention, as every backend reports them: 0…128 is an exit code, 128 + n
/// means killed by signal n (a task that itself exits with 129…192 reads as a signal, as it does in a shell).
public struct TaskEnd: Sendable, Hashable, CustomStringConvertible {
    public var task: Int
    /// 0-based node index.
    public var node: Int
    public var status: Int32
    /// Why the task could not start (`command not found: foo`), from its node; nil for a task that ran.
    public var detail: String?

    public init(task: Int, node: Int, status: Int32, detail: String? = nil) {
        self.task = task
        self.node = node
        self.status = status
        self.detail = detail
    }

    /// The status a node reports, with a message, when a task's infrastructure failed (its VM crashed), as
    /// opposed to the task itself: the job treats it like an agent failure.
    public static let infrastructureFailureStatus: Int32 = 255

    /// The signal that killed the task, if its status says so.
    public var signal: Int32? {
        status > 128 && status <= 128 + 64 ? status - 128 : nil
    }

    public var description: String {
        "task \(task) (node \(node)): " + (detail.map { "\($0) (exit code \(status))" } ?? Self.describe(status: status))
    }

    /// `exited with exit code 3`, `killed by signal 11 (SIGSEGV)`.
    public static func describe(status: Int32) -> String {
        if status > 128 && status <= 128 + 64 {
            let number = status - 128
            return "killed by signal \(number)" + (signalName(number).map { " (\($0))" } ?? "")
        }
        return "exited with exit code \(status)"
    }

    /// The conventional name of a Linux signal (`SIGSEGV`), or nil for real-time and unknown ones.
    public static func signalName(_ number: Int32) -> String? {
        let names = [
            "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE", "SIGKILL", "SIGUSR1",
            "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT", "SIGCHLD", "SIGCONT", "SIGSTOP",
            "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU", "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH",
            "SIGIO", "SIGPWR", "SIGSYS",
        ]
        return number >= 1 && Int(number) <= names.count ? names[Int(number) - 1] : nil
    }
}
