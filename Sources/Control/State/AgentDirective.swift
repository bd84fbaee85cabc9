import Wire

/// What an ``AgentMachine`` asks its shell to do.
public enum AgentDirective: Sendable, Hashable {
    /// Open a link to the agent of `rank` (handshake expects that rank).
    case dial(rank: Int, host: String, port: Int)
    /// Write a message on the link to neighbour `rank`.
    case send(Message, to: Int)
    /// Close the link to neighbour `rank`.
    case closeLink(Int)
    /// Tool agent: start this node's tasks.
    case startTasks(LaunchCommand)
    /// Tool agent: deliver a signal to this node's tasks.
    case signalTasks(Int32)
    /// Tool agent: stdin data for one of this node's tasks.
    case writeStdin(Wire.IOData)
    /// Tool agent: every node entered PMI fence `epoch`; `entries` are the job's puts since the last one.
    case pmiRelease(epoch: Int, entries: [PMIEntry])
    /// This agent is done: stop its tasks, close its links, end. `failed` if it ends because of a fault.
    case exit(reason: String, failed: Bool)
    /// Controller: every live agent has joined the boot tree (every subtree reported; the go to wire is on its
    /// way down): the tree carries floods, reports and output from here on, before BMG wiring completes.
    case joined(endpoints: [AgentEndpoint])
    /// Controller: every live agent is up and BMG-wired.
    case bootstrapped(endpoints: [AgentEndpoint], failed: [FailureNotice])
    /// Controller: a failure reached the controller.
    case failure(FailureNotice)
    /// Controller: output of a task, in arrival order (sequence it with ``OutputSequencer``).
    case output(Wire.IOData)
    /// Staging file work (open, write, read, commit, discard) for the shell.
    case stagingIO(StagingIO)
    /// Controller: a node's outcome for one staged file.
    case stagingReport(StagingReport)
    /// Controller: the slowest first-level node has acknowledged `bytes` of a staged file.
    case stagingProgress(transferID: UInt64, bytes: UInt64)
    /// A staged chunk failed its checksum here and was asked for again from `feeder` (the shell logs it).
    case stagingResendRequested(transferID: UInt64, offset: UInt64, feeder: Int)
    /// Controller: a control payload addressed to it (task exits, launch failures).
    case report(ControlPayload)
}
