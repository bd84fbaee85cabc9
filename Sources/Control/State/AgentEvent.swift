import NIOCore
import Wire

/// Everything that can happen to an ``AgentMachine``; the shell feeds these in with the current time.
public enum AgentEvent: Sendable {
    /// The agent's listener is up; begin (dial the parent).
    case start
    /// A link to neighbour `rank` finished its handshake.
    case linkUp(rank: Int)
    /// The link to neighbour `rank` closed.
    case linkDown(rank: Int)
    /// A message arrived on the link from `rank`.
    case message(Message, from: Int)
    /// Dialing neighbour `rank` failed (refused, unreachable, handshake failed or timed out).
    case dialFailed(rank: Int, detail: String)
    /// Time passed (drives deadlines and the heartbeat detector).
    case tick
    /// Starting the process for child `rank` failed.
    case spawnFailed(rank: Int, detail: String)
    /// A local child process (agent) exited: the SIGCHLD detector.
    case childExited(rank: Int, status: Int32)
    /// Tool agent: output of a task (whole lines).
    case taskOutput(task: Int, stream: IOStream, data: ByteBuffer, endOfStream: Bool)
    /// Tool agent: a task exited.
    case taskExited(task: Int, status: Int32, message: String)
    /// Tool agent: the tasks could not be started.
    case launchFailed(message: String)
    /// Tool agent: every PMI task of the node entered fence `epoch`, having put `entries` since the last.
    case pmiFence(epoch: Int, entries: [PMIEntry])
    /// Controller only: broadcast a command from the front-end.
    case broadcast(Message)
    /// Controller only: stage a file to every node (after bootstrap).
    case stage(StagingOffer)
    /// The shell finished staging file work.
    case staging(StagingEvent)
    /// Controller only: send stdin data to the node `data.rank` (for its task `data.task`, or every task).
    case stdin(Wire.IOData)
    /// Controller with ``AgentMachine/Configuration/holdsWiring``: send the go to wire down the tree now.
    case wire
}
