import NIOCore
import NIOPosix
import Testing
import Wire

@testable import Control

/// Links between agents through their processes' hubs, on real loopback sockets: a trunk per pair of
/// processes shared by their agents' links, in-process links, refusals, and closes.
@Suite struct LinkHubTests {
    typealias Events = AsyncStream<AgentRuntime.ShellEvent>

    /// One agent's event stream, read one event at a time.
    final class Agent: @unchecked Sendable {
        let rank: Int
        let input: AgentInput
        let continuation: Events.Continuation
        var iterator: Events.AsyncIterator

        init(rank: Int, hub: LinkHub) {
            self.rank = rank
            let (events, continuation) = Events.makeStream()
            self.continuation = continuation
            input = AgentInput(continuation)
            iterator = events.makeAsyncIterator()
            hub.register(rank: rank, input: input)
        }

        /// The next event, or nil if none comes within five seconds.
        func next() async -> AgentRuntime.ShellEvent? {
            let continuation = self.continuation
            let timer = Task {
                try await Task.sleep(for: .seconds(5))
                continuation.finish()
            }
            defer { timer.cancel() }
            return await iterator.next()
        }

        func opened() async throws -> (peer: Int, id: Int, writer: LinkWriter) {
            guard case .opened(let peer, let id, let writer) = await next() else { throw Failure("no .opened for agent \(rank)") }
            return (peer, id, writer)
        }

        func message() async throws -> (Message, from: Int) {
            guard case .agent(.message(let message, let peer)) = await next() else { throw Failure("no message for agent \(rank)") }
            return (message, peer)
        }

        func closed() async throws -> (peer: Int, id: Int) {
            guard case .closed(let peer, let id) = await next() else { throw Failure("no .closed for agent \(rank)") }
            return (peer, id)
        }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    static let secret = JobSecret.generate()

    static func hub(
        identity rank: Int, hosting ranks: Set<Int>, jobID: String = "hub-test", secret: JobSecret = secret,
        sameProcessPeers: Bool = false
    ) async throws -> LinkHub {
        try await LinkHub.bind(
            group: MultiThreadedEventLoopGroup.singleton, host: "127.0.0.1", jobID: jobID, secret: secret,
            identity: PeerIdentity(rank: UInt32(rank), role: .rootAgent), hosted: ranks, handshakeWindow: .seconds(5),
            sameProcessPeers: sameProcessPeers, report: { _ in })
    }

    @Test func linksOfTwoAgentsShareOneTrunkAndPingsAreAnsweredByThePeersProcess() async throws {
        let a = try await Self.hub(identity: 1, hosting: [1, 2])
        let b = try await Self.hub(identity: 3, hosting: [3])
        defer { a.shutdown(); b.shutdown() }
        let (one, two, three) = (Agent(rank: 1, hub: a), Agent(rank: 2, hub: a), Agent(rank: 3, hub: b))

        try await a.dial(from: 1, to: 3, host: "127.0.0.1", port: b.port, input: one.input, timeout: .seconds(5))
        let oneSide = try await one.opened()
        let threeSide = try await three.opened()
        #expect(oneSide.peer == 3 && threeSide.peer == 1)
        try await a.dial(from: 2, to: 3, host: "127.0.0.1", port: b.port, input: two.input, timeout: .seconds(5))
        let twoSide = try await two.opened()
        let threeSecond = try await three.opened()
        #expect(twoSide.peer == 3 && threeSecond.peer == 2)
        #expect(b.acceptedTrunkCount == 1, "both links ride one connection")

        oneSide.writer.send(.ping(Heartbeat(id: 9, timestamp: 1)))
        oneSide.writer.send(.ack(Ack(of: .launch, id: 5)))
        threeSecond.writer.send(.ack(Ack(of: .launch, id: 6)))
        // The ping never reaches agent 3: its process answers it.
        let (pong, pongFrom) = try await one.message()
        #expect(pong == .pong(Heartbeat(id: 9, timestamp: 1)) && pongFrom == 3)
        let (ack, ackFrom) = try await three.message()
        #expect(ack == .ack(Ack(of: .launch, id: 5)) && ackFrom == 1)
        let (ackTwo, ackTwoFrom) = try await two.message()
        #expect(ackTwo == .ack(Ack(of: .launch, id: 6)) && ackTwoFrom == 3)

        // Finishing one link closes it on both sides and leaves the other open.
        try await oneSide.writer.finish()?.get()
        let threeClosed = try await three.closed()
        #expect(threeClosed.peer == 1 && threeClosed.id == threeSide.id)
        let oneClosed = try await one.closed()
        #expect(oneClosed.peer == 3 && oneClosed.id == oneSide.id)
        twoSide.writer.send(.ack(Ack(of: .launch, id: 7)))
        let (still, _) = try await three.message()
        #expect(still == .ack(Ack(of: .launch, id: 7)))
    }

    @Test func agentsOfOneProcessLinkWithoutASocket() async throws {
        let a = try await Self.hub(identity: 1, hosting: [1, 2])
        defer { a.shutdown() }
        let (one, two) = (Agent(rank: 1, hub: a), Agent(rank: 2, hub: a))
        try await a.dial(from: 2, to: 1, host: "127.0.0.1", port: 1, input: two.input, timeout: .seconds(5))
        let twoSide = try await two.opened()
        let oneSide = try await one.opened()
        #expect(twoSide.peer == 1 && oneSide.peer == 2)
        twoSide.writer.send(.ping(Heartbeat(id: 3, timestamp: 4)))
        twoSide.writer.send(.ack(Ack(of: .launch, id: 8)))
        let (pong, _) = try await two.message()
        #expect(pong == .pong(Heartbeat(id: 3, timestamp: 4)))
        let (ack, from) = try await one.message()
        #expect(ack == .ack(Ack(of: .launch, id: 8)) && from == 2)
        oneSide.writer.abort()
        #expect(try await one.closed().id == oneSide.id)
        #expect(try await two.closed().id == twoSide.id)
        twoSide.writer.send(.ack(Ack(of: .launch, id: 9)))  // closed: goes nowhere
        #expect(a.acceptedTrunkCount == 0)
    }

    /// The front-end's hub and that of the agents it hosts: their links are in-process links (no trunk, the
    /// peer's agent gets every message, a close reaches both sides), found by job, rank and port.
    @Test func hubsOfOneJobListedInOneProcessLinkWithoutASocket() async throws {
        let front = try await Self.hub(identity: 0, hosting: [0], jobID: "hub-same", sameProcessPeers: true)
        let agents = try await Self.hub(identity: 1, hosting: [1, 2], jobID: "hub-same", sameProcessPeers: true)
        defer { front.shutdown(); agents.shutdown() }
        let (zero, one) = (Agent(rank: 0, hub: front), Agent(rank: 1, hub: agents))
        try await agents.dial(from: 1, to: 0, host: "127.0.0.1", port: front.port, input: one.input, timeout: .seconds(5))
        let oneSide = try await one.opened()
        let zeroSide = try await zero.opened()
        #expect(oneSide.peer == 0 && zeroSide.peer == 1)
        #expect(front.acceptedTrunkCount == 0 && agents.acceptedTrunkCount == 0, "no connection between them")
        oneSide.writer.send(.ping(Heartbeat(id: 1, timestamp: 2)))
        oneSide.writer.send(.ack(Ack(of: .launch, id: 3)))
        let (pong, pongFrom) = try await one.message()
        #expect(pong == .pong(Heartbeat(id: 1, timestamp: 2)) && pongFrom == 0)
        let (ack, ackFrom) = try await zero.message()
        #expect(ack == .ack(Ack(of: .launch, id: 3)) && ackFrom == 1)
        zeroSide.writer.abort()
        #expect(try await zero.closed().id == zeroSide.id)
        #expect(try await one.closed().id == oneSide.id)
    }

    /// Only hubs that were listed, of the same job and secret, and only at the port the peer listens on take
    /// the shortcut; anything else dials a real connection (as the fault tests' stalled ranks need).
    @Test func unlistedOrForeignHubsInOneProcessStillUseATrunk() async throws {
        let listed = try await Self.hub(identity: 0, hosting: [0], jobID: "hub-listed", sameProcessPeers: true)
        let unlisted = try await Self.hub(identity: 1, hosting: [1], jobID: "hub-listed")
        let other = try await Self.hub(identity: 2, hosting: [2], jobID: "hub-listed", secret: .generate(), sameProcessPeers: true)
        defer { listed.shutdown(); unlisted.shutdown(); other.shutdown() }
        let (zero, one, two) = (Agent(rank: 0, hub: listed), Agent(rank: 1, hub: unlisted), Agent(rank: 2, hub: other))
        try await unlisted.dial(from: 1, to: 0, host: "127.0.0.1", port: listed.port, input: one.input, timeout: .seconds(5))
        _ = try await one.opened()
        _ = try await zero.opened()
        #expect(listed.acceptedTrunkCount == 1, "an unlisted hub dials")
        await #expect(throws: (any Error).self, "another secret: a real handshake, which fails") {
            try await other.dial(from: 2, to: 0, host: "127.0.0.1", port: listed.port, input: two.input, timeout: .seconds(5))
        }
        await #expect(throws: (any Error).self, "a port nobody listens on: no shortcut") {
            try await other.dial(from: 2, to: 0, host: "127.0.0.1", port: 1, input: two.input, timeout: .seconds(5))
        }
    }

    /// The dialer gave up (its open timed out) before the accept came: the accepting agent's end is closed
    /// too, instead of staying open with nobody on the other side.
    @Test func anAcceptAfterTheOpenTimedOutClosesTheAcceptorsEnd() async throws {
        let a = try await Self.hub(identity: 1, hosting: [1, 2])
        let b = try await Self.hub(identity: 3, hosting: [3])
        defer { a.shutdown(); b.shutdown() }
        let (one, two, three) = (Agent(rank: 1, hub: a), Agent(rank: 2, hub: a), Agent(rank: 3, hub: b))
        try await a.dial(from: 2, to: 3, host: "127.0.0.1", port: b.port, input: two.input, timeout: .seconds(5))
        _ = try await two.opened()
        _ = try await three.opened()
        // The trunk is up; an open with no time at all times out before any answer can come back.
        await #expect(throws: LinkError.self) {
            try await a.dial(from: 1, to: 3, host: "127.0.0.1", port: b.port, input: one.input, timeout: .zero)
        }
        let late = try await three.opened()
        #expect(late.peer == 1)
        let closed = try await three.closed()
        #expect(closed.peer == 1 && closed.id == late.id)
    }

    /// An agent that dials as it exits (its events no longer read) leaves no link open at the other end.
    @Test func aLocalLinkFromAnAgentThatHasStoppedClosesAtOnce() async throws {
        let a = try await Self.hub(identity: 1, hosting: [1, 2])
        defer { a.shutdown() }
        let (one, two) = (Agent(rank: 1, hub: a), Agent(rank: 2, hub: a))
        one.continuation.finish()
        await #expect(throws: LinkError.self) {
            try await a.dial(from: 1, to: 2, host: "127.0.0.1", port: a.port, input: one.input, timeout: .seconds(5))
        }
        let opened = try await two.opened()
        #expect(try await two.closed().id == opened.id)
    }

    @Test func anAgentThatIsNotRunningRefusesItsLinks() async throws {
        let a = try await Self.hub(identity: 1, hosting: [1, 2])
        let b = try await Self.hub(identity: 3, hosting: [3, 4])
        defer { a.shutdown(); b.shutdown() }
        let one = Agent(rank: 1, hub: a)
        let three = Agent(rank: 3, hub: b)
        b.unregister(rank: 3)
        await #expect(throws: LinkError.self) {
            try await a.dial(from: 1, to: 3, host: "127.0.0.1", port: b.port, input: one.input, timeout: .seconds(5))
        }
        await #expect(throws: LinkError.self) {  // hosted there, never registered
            try await a.dial(from: 1, to: 4, host: "127.0.0.1", port: b.port, input: one.input, timeout: .seconds(5))
        }
        await #expect(throws: LinkError.self) {  // in this process, never registered
            try await a.dial(from: 1, to: 2, host: "127.0.0.1", port: a.port, input: one.input, timeout: .seconds(5))
        }
        _ = three
    }

    @Test func aClosedTrunkClosesEveryLinkOnItAndTheNextDialOpensANewOne() async throws {
        let a = try await Self.hub(identity: 1, hosting: [1, 2])
        let b = try await Self.hub(identity: 3, hosting: [3])
        defer { a.shutdown(); b.shutdown() }
        let (one, two, three) = (Agent(rank: 1, hub: a), Agent(rank: 2, hub: a), Agent(rank: 3, hub: b))
        for agent in [one, two] {
            try await a.dial(from: agent.rank, to: 3, host: "127.0.0.1", port: b.port, input: agent.input, timeout: .seconds(5))
            _ = try await agent.opened()
            _ = try await three.opened()
        }
        b.closeAcceptedTrunks()  // as `ss -K` or the death of the process would
        #expect(try await one.closed().peer == 3)
        #expect(try await two.closed().peer == 3)
        try await a.dial(from: 1, to: 3, host: "127.0.0.1", port: b.port, input: one.input, timeout: .seconds(5))
        #expect(try await one.opened().peer == 3)
    }

    @Test func aWrongSecretGetsNoLink() async throws {
        let a = try await Self.hub(identity: 1, hosting: [1])
        defer { a.shutdown() }
        let stranger = try await LinkHub.bind(
            group: MultiThreadedEventLoopGroup.singleton, host: "127.0.0.1", jobID: "hub-test", secret: JobSecret.generate(),
            identity: PeerIdentity(rank: 9, role: .rootAgent), hosted: [9], handshakeWindow: .seconds(5), report: { _ in })
        defer { stranger.shutdown() }
        let one = Agent(rank: 1, hub: a)
        let nine = Agent(rank: 9, hub: stranger)
        await #expect(throws: (any Error).self) {
            try await stranger.dial(from: 9, to: 1, host: "127.0.0.1", port: a.port, input: nine.input, timeout: .seconds(5))
        }
        _ = one
    }
}
