import NIOCore
import Wire

/// What the front-end learns while a job runs (the CLI prints these).
public enum JobEvent: Sendable {
    /// Every live agent is up and BMG-wired, `elapsed` after start.
    case bootstrapped(agents: [AgentEndpoint], elapsed: Duration)
    /// An agent failed.
    case failure(FailureNotice)
    /// Output of task `task`, whole lines, in order.
    case output(task: Int, stream: IOStream, data: ByteBuffer)
    /// A node could not start its tasks.
    case launchFailed(node: Int, message: String)
    /// The job is ending: `reason`.
    case ending(reason: String)
}
