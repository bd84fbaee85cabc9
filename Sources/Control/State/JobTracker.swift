/// The controller's account of a job's tasks: exits and end-of-stream marks, and the resulting exit code
/// (the highest task exit code; a signal-killed task counts as 128 + signal).
public struct JobTracker: Sendable {
    /// Number of tasks in the job.
    public let taskCount: Int
    private var exits: [Int: Int32] = [:]
    private var openStreams: Set<StreamKey>

    private struct StreamKey: Hashable, Sendable {
        var task: Int
        var isError: Bool
    }

    public init(taskCount: Int) {
        self.taskCount = taskCount
        var streams = Set<StreamKey>()
        for task in 0..<taskCount {
            streams.insert(StreamKey(task: task, isError: false))
            streams.insert(StreamKey(task: task, isError: true))
        }
        openStreams = streams
    }

    /// Records a task's exit status.
    /// A task reported failed before it exited (MPI_Abort, a PMI protocol error) stays failed when its
    /// process then exits 0.
    public mutating func exited(task: Int, status: Int32) {
        if status == 0, let earlier = exits[task], earlier != 0 { return }
        exits[task] = status
    }

    /// Records that a task's stdout (or stderr) has been delivered completely.
    public mutating func streamEnded(task: Int, isError: Bool) {
        openStreams.remove(StreamKey(task: task, isError: isError))
    }

    /// Tasks of a node that will never report (the node failed): counted as exited with `status`, streams closed.
    public mutating func abandon(tasks: Range<Int>, status: Int32) {
        for task in tasks where exits[task] == nil {
            exits[task] = status
            openStreams.remove(StreamKey(task: task, isError: false))
            openStreams.remove(StreamKey(task: task, isError: true))
        }
    }

    /// Tasks that have exited.
    public var exitedCount: Int { exits.count }

    /// Every task exited and all its output arrived.
    public var isComplete: Bool { exits.count == taskCount && openStreams.isEmpty }

    /// The highest exit code so far.
    public var exitCode: Int32 { exits.values.max() ?? 0 }

    /// The exit status of `task`, if known.
    public func status(of task: Int) -> Int32? { exits[task] }
}
