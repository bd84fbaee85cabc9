import NIOCore
import Wire

/// What the front-end learns while a job runs (the CLI prints these).
public enum JobEvent: Sendable, Hashable {
    /// Every live agent has joined the boot tree and the tasks are being launched over it while BMG wiring
    /// completes (``JobMachine/Configuration/launchesBeforeWiring``); ``bootstrapped(agents:elapsed:)`` follows.
    case joined(agents: [AgentEndpoint])
    /// Every live agent is up and BMG-wired, `elapsed` after start.
    case bootstrapped(agents: [AgentEndpoint], elapsed: Duration)
    /// An agent failed.
    case failure(FailureNotice)
    /// Output of task `task`, whole lines, in order.
    case output(task: Int, stream: IOStream, data: ByteBuffer)
    /// A node could not start its tasks.
    case launchFailed(node: Int, message: String)
    /// Staging: the slowest first-level node acknowledged `bytes` of `total`; `nodesDone` of `nodes` finished.
    case stagingProgress(bytes: UInt64, total: UInt64, nodesDone: Int, nodes: Int)
    /// Staging finished: `nodes` live nodes hold every file (`skipped` files were already present); nodes
    /// where it failed were reported with `launchFailed`.
    case staged(bytes: UInt64, nodes: Int, skipped: Int, elapsed: Duration)
    /// A task ended (any status): what the job history records per task.
    case taskEnded(TaskEnd)
    /// A task failed on its own (non-zero exit or a signal): `task 2 (node 1): exited with exit code 3`.
    case taskFailed(TaskEnd)
    /// Why the job is being ended (kill-on-bad-exit, time limit), for the user.
    case notice(String)
    /// The job is ending: `reason`. `exitCode` is the job's exit code as it ends — the final one unless
    /// something fails while its agents stop (the job history records it at once, beside that teardown).
    case ending(reason: String, exitCode: Int32)
}
