/// Which detector noticed a failure.
public enum FailureDetector: UInt8, CaseIterable, Hashable, Sendable {
    /// The connection to the agent closed.
    case connectionClosed = 1
    /// The agent stopped answering pings.
    case heartbeatTimeout = 2
    /// A local child agent exited (SIGCHLD).
    case childExited = 3
    /// A handshake with the agent failed or timed out.
    case handshakeFailed = 4
}
