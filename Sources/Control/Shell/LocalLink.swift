import NIOConcurrencyHelpers
import NIOCore
import Wire

/// A link between two agents hosted in the same process: messages go straight to the other agent's events,
/// without a socket or an encoding. Pings are answered at once, as a trunk's event loop answers them.
final class LocalLink: Sendable {
    /// One side: its agent, the link's id there, and where that agent's events go.
    struct Side: Sendable {
        var rank: Int
        var id: Int
        var input: AgentInput
    }

    let first: Side
    let second: Side
    private let isOpen = NIOLockedValueBox(true)

    init(_ first: Side, _ second: Side) {
        self.first = first
        self.second = second
    }

    /// The end `side` writes with.
    func end(from side: Side) -> End {
        End(link: self, from: side, to: side.rank == first.rank && side.id == first.id ? second : first)
    }

    /// The writer of one side.
    struct End: LinkEnd {
        let link: LocalLink
        let from: Side
        let to: Side

        func send(_ message: Message) { link.deliver(message, from: from, to: to) }

        func finish() -> EventLoopFuture<Void>? {
            link.close()
            return nil  // delivered at once: nothing is left to write
        }

        func abort() { link.close() }
    }

    private func deliver(_ message: Message, from: Side, to: Side) {
        // Delivered under the lock, so a close cannot overtake a message sent before it.
        isOpen.withLockedValue { open in
            guard open else { return }
            if case .ping(let heartbeat) = message {
                from.input.yield(.agent(.message(.pong(heartbeat), from: to.rank)))
            } else {
                to.input.yield(.agent(.message(message, from: from.rank)))
            }
        }
    }

    /// Gives both agents `.opened`, the dialer first, under the lock: nothing either sends or a close can come
    /// before the other's `.opened`. If either has stopped reading its events, the link closes at once (each
    /// gets `.closed`, so no agent keeps a link to one that is gone); returns false then.
    func open() -> Bool {
        isOpen.withLockedValue { open in
            let dialer = first.input.yield(.opened(rank: second.rank, id: first.id, link: LinkWriter(end: end(from: first))))
            let acceptor = second.input.yield(.opened(rank: first.rank, id: second.id, link: LinkWriter(end: end(from: second))))
            if case .terminated = dialer { open = false }
            if case .terminated = acceptor { open = false }
            guard !open else { return true }
            first.input.yield(.closed(rank: second.rank, id: first.id))
            second.input.yield(.closed(rank: first.rank, id: second.id))
            return false
        }
    }

    /// Closes both ends (once): each agent gets `.closed` after every message sent to it before.
    func close() {
        isOpen.withLockedValue { open in
            guard open else { return }
            open = false
            first.input.yield(.closed(rank: second.rank, id: first.id))
            second.input.yield(.closed(rank: first.rank, id: second.id))
        }
    }
}
