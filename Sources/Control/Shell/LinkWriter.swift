import NIOCore
import Wire

/// Where an agent's shell receives its events: link opened, message, link closed (and its own events).
struct AgentInput: Sendable {
    /// Whether the event was taken, or the agent reads no more events.
    enum YieldResult { case enqueued, terminated }

    private let deliver: @Sendable (AgentRuntime.ShellEvent) -> Bool

    /// Events go to `deliver`, which returns false once the agent reads no more.
    init(deliver: @escaping @Sendable (AgentRuntime.ShellEvent) -> Bool) {
        self.deliver = deliver
    }

    /// Events go into an event stream (tests read one that way).
    init(_ continuation: AsyncStream<AgentRuntime.ShellEvent>.Continuation) {
        deliver = { event in
            if case .terminated = continuation.yield(event) { return false }
            return true
        }
    }

    @discardableResult
    func yield(_ event: AgentRuntime.ShellEvent) -> YieldResult {
        deliver(event) ? .enqueued : .terminated
    }
}

/// One end of a link between two agents: on a trunk to another process (``TrunkLinkEnd``) or inside this
/// process (``LocalLink``).
protocol LinkEnd: Sendable {
    /// Sends a message; messages keep their order.
    func send(_ message: Message)
    /// Closes the link once what was written has gone out; the future completes then (nil: it has already,
    /// nothing was left to write).
    func finish() -> EventLoopFuture<Void>?
    /// Closes the link at once.
    func abort()
}

/// Sends on one link from any thread; writes keep their order.
struct LinkWriter: Sendable {
    let end: any LinkEnd

    func send(_ message: Message) {
        end.send(message)
    }

    /// Ends the link once what was written has gone out (the peer then closes its side, which closes ours);
    /// a peer that never does (hung, stopped, cut off) is closed on a second later. The future completes
    /// when the written data has gone out (or the link is gone); nil when nothing was left to write.
    @discardableResult
    func finish() -> EventLoopFuture<Void>? {
        end.finish()
    }

    /// Closes at once.
    func abort() {
        end.abort()
    }
}

/// Why a link could not be opened.
enum LinkError: Error, CustomStringConvertible {
    /// The peer's process hosts no such agent (any more).
    case refused(rank: Int)
    /// The connection to the peer's process closed before the link was open.
    case trunkClosed
    /// No answer to the open within the window.
    case timedOut(rank: Int, after: Duration)

    var description: String {
        switch self {
        case .refused(let rank): return "agent \(rank) refused the link (it is not running there)"
        case .trunkClosed: return "the connection to the peer's process closed"
        case .timedOut(let rank, let window): return "agent \(rank) did not answer within \(window)"
        }
    }
}
