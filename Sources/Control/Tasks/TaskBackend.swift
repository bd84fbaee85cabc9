import NIOCore
import Wire

/// The part of a tool agent that actually runs the application on a node. NodeAgent's `ProcessTaskBackend` runs
/// plain processes, its `VMTaskBackend` boots VMs (V2M) and runs the tasks inside them. Either way it reports
/// output, exits and launch failures as ``AgentEvent``s and obeys ``TaskControl``s.
public protocol TaskBackend: Sendable {
    /// Runs the node's tasks and returns once every task has exited and all output was reported.
    /// - Parameters:
    ///   - plan: what to run and where each task sits in the job.
    ///   - controls: signals, stdin data and termination from the agent.
    ///   - report: `.taskOutput` (whole lines, then an end-of-stream mark per stream), `.taskExited`, or
    ///     `.launchFailed` if nothing could start.
    func run(_ plan: NodeTaskPlan, controls: AsyncStream<TaskControl>, report: @escaping @Sendable (AgentEvent) -> Void) async

    /// The agent process starts for job `jobID`, hosting agents from rank `firstAgent` up, and its tasks will be
    /// served PMIx (``AgentProcessConfiguration/prestartsPMIx``): start the node's servers now, alongside the
    /// bootstrap, rather than when the launch comes. By default nothing.
    func prestartServers(jobID: String, firstAgent: Int)

    /// The process's agents are done (the end of every agent process): servers started by
    /// ``prestartServers(jobID:firstAgent:)`` for a launch that never came leave nothing behind, and work a
    /// server's start began in the background has ended. By default nothing.
    func finishServers()
}

extension TaskBackend {
    public func prestartServers(jobID: String, firstAgent: Int) {}
    public func finishServers() {}
}

/// What the agent asks of running tasks.
public enum TaskControl: Sendable {
    /// Deliver a signal to every task (its process group).
    case signal(Int32)
    /// Bytes for a task's stdin; `endOfStream` closes it.
    case stdin(task: Int, data: ByteBuffer, endOfStream: Bool)
    /// Stop every task now (SIGTERM, then SIGKILL after a grace period).
    case terminate
    /// Every node entered PMI fence `epoch`; `entries` are the job's puts since the previous one.
    case pmiRelease(epoch: Int, entries: [PMIEntry])
}
