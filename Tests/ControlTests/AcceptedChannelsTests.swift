import NIOCore
import NIOPosix
import Testing
import Wire

@testable import Control

/// A listener's accepted connections are closed when it is shut, including ones that never finished a
/// handshake, and ones accepted afterwards (real sockets on loopback).
@Suite struct AcceptedChannelsTests {
    /// Opens a plain TCP connection to `port`.
    func connect(to port: Int, group: any EventLoopGroup) async throws -> any Channel {
        try await ClientBootstrap(group: group).connect(host: "127.0.0.1", port: port).get()
    }

    /// Whether the listener's side closed `channel` within `limit` (polls; a close future cannot be cancelled).
    func closed(_ channel: any Channel, within limit: Duration) async throws -> Bool {
        let deadline = ContinuousClock.now + limit
        while channel.isActive, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        return !channel.isActive
    }

    @Test func shuttingTheListenerClosesConnectionsNobodyTookAndLaterOnes() async throws {
        // A group of its own and a handshake window far beyond the test: under a loaded parallel test run the
        // shared loops can be starved long enough for a 30 s window to close the idle connection first.
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let handshake = Handshake.Configuration(
            role: .responder, jobID: "accepted-test", secret: JobSecret.generate(),
            identity: PeerIdentity(rank: 1, role: .rootAgent), timeout: .seconds(3600))
        let listener = try await WireListener.bind(group: group, host: "127.0.0.1", handshake: handshake, report: { _ in }) { _ in
            ChannelInboundAdapter()
        }

        // The connection is accepted and then just sits there (it never even starts its handshake).
        let early = try await connect(to: listener.port, group: group)
        let deadline = ContinuousClock.now + .seconds(60)
        while listener.accepted.openCount < 1, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        #expect(listener.accepted.openCount == 1)
        #expect(try await !closed(early, within: .milliseconds(200)))

        listener.accepted.shut()
        #expect(try await closed(early, within: .seconds(30)))
        #expect(listener.accepted.openCount == 0)

        let late = try await connect(to: listener.port, group: group)
        #expect(try await closed(late, within: .seconds(30)))
        for channel in [early, late] { try? await channel.close() }
        try await listener.server.close()
        try await group.shutdownGracefully()
    }
}

extension AcceptedChannelsTests {
    /// Issue 20, finding 2: connections that never authenticate are capped per listener (more are closed
    /// at once), and a frame larger than a handshake's is refused before authentication instead of being
    /// buffered (up to 2 MiB per connection).
    @Test(.timeLimit(.minutes(1))) func unauthenticatedConnectionsAreCappedAndLargePreAuthFramesRefused() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let handshake = Handshake.Configuration(
            role: .responder, jobID: "cap-test", secret: JobSecret.generate(),
            identity: PeerIdentity(rank: 1, role: .rootAgent), timeout: .seconds(30))
        let listener = try await WireListener.bind(group: group, host: "127.0.0.1", handshake: handshake, unauthenticatedLimit: 4,
                                                   report: { _ in }) { _ in ChannelInboundAdapter() }
        defer { listener.accepted.shut(); listener.server.close(promise: nil) }
        var idle: [any Channel] = []
        for _ in 0..<4 { idle.append(try await connect(to: listener.port, group: group)) }
        let deadline = ContinuousClock.now + .seconds(5)
        while listener.accepted.unauthenticatedCount < 4, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        #expect(listener.accepted.unauthenticatedCount == 4)
        let fifth = try await connect(to: listener.port, group: group)
        #expect(try await closed(fifth, within: .seconds(5)), "the fifth unauthenticated connection is closed at once")
        #expect(listener.accepted.refusedCount >= 1)
        for channel in idle { #expect(channel.isActive, "the first four are kept (until their handshake window ends)") }

        // One of them announces a 64 KiB hello: closed at once, without waiting for the bytes.
        var header = idle[0].allocator.buffer(capacity: 20)
        header.writeInteger(FrameHeader.magic); header.writeInteger(UInt8(1)); header.writeInteger(MessageKind.hello.rawValue)
        header.writeInteger(UInt16(0)); header.writeInteger(UInt32(64 << 10)); header.writeInteger(UInt64(0))
        try await idle[0].writeAndFlush(header)
        #expect(try await closed(idle[0], within: .seconds(5)), "a pre-authentication frame larger than a handshake's is refused")
        for channel in idle + [fifth] { try? await channel.close() }
    }
}

/// A tail handler that only passes events on.
final class ChannelInboundAdapter: ChannelInboundHandler {
    typealias InboundIn = Message
}
