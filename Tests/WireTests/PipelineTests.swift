import NIOCore
import NIOEmbedded
import Testing
@testable import WireCore
import Wire

@Suite struct PipelineTests {
    let launch = Message.launch(LaunchCommand(id: 1, executable: "/bin/hostname", tasks: 2))

    func connectedPair(
        initiator: Handshake.Configuration = Fixtures.configuration(.initiator, nonce: 1),
        responder: Handshake.Configuration = Fixtures.configuration(.responder, nonce: 2)
    ) throws -> (child: WireEndpoint, parent: WireEndpoint) {
        let child = try WireEndpoint(initiator)
        let parent = try WireEndpoint(responder)
        try parent.connect()
        try child.connect()
        return (child, parent)
    }

    @Test func handshakeThenSealedMessagesBothWays() throws {
        let (child, parent) = try connectedPair()
        // Written before the handshake: withheld, then sent sealed once authenticated.
        child.channel.writeAndFlush(launch, promise: nil)
        parent.channel.writeAndFlush(Message.ping(Heartbeat(id: 1, timestamp: 5)), promise: nil)
        let (fromChild, fromParent) = try shuttle(child, parent)

        let childFrames = try fromChild.flatMap(frames(in:))
        let parentFrames = try fromParent.flatMap(frames(in:))
        #expect(childFrames.map(\.kind) == [.hello, .response, .launch])
        #expect(parentFrames.map(\.kind) == [.challenge, .welcome, .ping])
        #expect(childFrames.map(\.isSealed) == [false, false, true])
        #expect(parentFrames.map(\.isSealed) == [false, false, true])

        #expect(try parent.drainInbound() == [launch])
        #expect(try child.drainInbound() == [.ping(Heartbeat(id: 1, timestamp: 5))])
        #expect(child.recorder.events == [.authenticated(peer: Fixtures.parent, version: .v1)])
        #expect(parent.recorder.events == [.authenticated(peer: Fixtures.child, version: .v1)])
        #expect(try child.authenticated.futureResult.wait() == Fixtures.parent)
        #expect(try parent.authenticated.futureResult.wait() == Fixtures.child)
        #expect(child.log.count == 0 && parent.log.count == 0)

        // Later messages keep flowing, sealed with increasing sequence numbers.
        for id in 2...4 { parent.channel.writeAndFlush(Message.ack(Ack(of: .launch, id: UInt64(id))), promise: nil) }
        let (_, more) = try shuttle(child, parent)
        #expect(try more.flatMap(frames(in:)).map(\.header.sequence) == [1, 2, 3])
        #expect(try child.drainInbound().count == 3)
    }

    /// A message too large for a frame fails at the sender, naming it; nothing of it goes out (the receiver
    /// would have refused the frame and closed, leaving the sender to guess why).
    @Test func anOversizedMessageFailsAtTheSenderNamingIt() throws {
        let (child, parent) = try connectedPair()
        try shuttle(child, parent)
        let limit = FrameLimits().maxPayloadLength
        let output = Message.ioData(IOData(launchID: 1, rank: 3, stream: .stdout, sequence: 0,
                                           data: ByteBuffer(repeating: 0x61, count: limit + 1)))
        let write = child.channel.writeAndFlush(output)
        let length = MessageCodec.frame(output).payload.readableBytes
        let expected = "cannot send ioData message: its payload of \(length) bytes exceeds the frame limit of \(limit) bytes"
        #expect(throws: WireError.self) { try write.wait() }
        #expect(child.log.errors.map(\.description) == [expected], "\(child.log.errors)")
        let (fromChild, _) = try shuttle(child, parent)
        #expect(fromChild.allSatisfy { $0.readableBytes < limit })
        #expect(parent.log.count == 0, "the receiver saw: \(parent.log.errors)")
        #expect(try parent.drainInbound().isEmpty)
        #expect(!child.channel.isActive)
    }

    @Test func anOversizedLinkFrameNamesTheMessageItCarries() {
        let limits = FrameLimits(maxPayloadLength: 1024)
        let control = Message.agentControl(AgentControl(body: ByteBuffer(repeating: 0, count: 2000)))
        let link = Message.link(LinkFrame(link: 7, source: 5, destination: 0, operation: .data, message: control))
        #expect(throws: WireError.messageTooLarge(message: "agentControl message from agent 5 to agent 0", length: 2000 + 4 + LinkFrame.headerLength, limit: 1024)) {
            try MessageCodec.frame(link, limits: limits)
        }
        // At the limit exactly (4 bytes of length, then the body): sent.
        #expect(throws: Never.self) { try MessageCodec.frame(.agentControl(AgentControl(body: ByteBuffer(repeating: 0, count: 1020))), limits: limits) }
    }

    @Test func nothingReachesTheApplicationBeforeAuthentication() throws {
        let (child, parent) = try connectedPair()
        child.channel.writeAndFlush(launch, promise: nil)
        // Deliver only the hello.
        parent.receive(try child.drainOutbound())
        #expect(try parent.drainInbound().isEmpty)
        #expect(parent.recorder.events.isEmpty)
    }

    @Test func wrongSecretClosesBothSidesWithReasons() throws {
        let (child, parent) = try connectedPair(
            initiator: Fixtures.configuration(.initiator, nonce: 1, secret: Fixtures.otherSecret))
        let written = child.channel.writeAndFlush(launch)
        try shuttle(child, parent)
        #expect(parent.log.errors == [.authenticationFailed(reason: "initiator proof does not verify")])
        #expect(child.log.errors.first == .rejectedByPeer(
            code: ErrorCode.authenticationFailed.rawValue, message: "authentication failed: initiator proof does not verify"))
        #expect(!parent.channel.isActive && !child.channel.isActive)
        #expect(try parent.drainInbound().isEmpty)
        #expect(throws: WireError.self) { try written.wait() }
        #expect(throws: WireError.self) { try child.authenticated.futureResult.wait() }
    }

    @Test func unsealedCommandBeforeTheHandshakeIsRejected() throws {
        let parent = try WireEndpoint(Fixtures.configuration(.responder, nonce: 2))
        try parent.connect()
        parent.receive(Fixtures.bytes(MessageCodec.frame(launch)))
        #expect(parent.log.errors == [.notAuthenticated(.launch)])
        #expect(!parent.channel.isActive)
        #expect(try parent.drainInbound().isEmpty)
    }

    @Test func sealedFrameBeforeTheHandshakeIsRejected() throws {
        let parent = try WireEndpoint(Fixtures.configuration(.responder, nonce: 2))
        try parent.connect()
        var frame = MessageCodec.frame(.hello(Hello(jobID: Fixtures.jobID, sender: Fixtures.child, nonce: Fixtures.nonce(1))))
        frame.mac = FrameMAC(high: 0, low: 0)
        parent.receive(Fixtures.bytes(frame))
        #expect(parent.log.errors == [.notAuthenticated(.hello)])
        #expect(!parent.channel.isActive)
    }

    @Test func tamperedFrameAfterTheHandshakeClosesTheConnection() throws {
        let (child, parent) = try connectedPair()
        try shuttle(child, parent)
        child.channel.writeAndFlush(launch, promise: nil)
        var bytes = try child.drainOutbound()
        let last = bytes.writerIndex - FrameMAC.byteCount - 1
        bytes.setInteger(bytes.getInteger(at: last, as: UInt8.self)! ^ 1, at: last)
        parent.receive(bytes)
        #expect(parent.log.errors == [.badMAC(sequence: 0)])
        #expect(!parent.channel.isActive)
        #expect(try parent.drainInbound().isEmpty)
    }

    @Test func replayedFrameAfterTheHandshakeClosesTheConnection() throws {
        let (child, parent) = try connectedPair()
        try shuttle(child, parent)
        child.channel.writeAndFlush(launch, promise: nil)
        let bytes = try child.drainOutbound()
        parent.receive(bytes)
        parent.receive(bytes)
        #expect(try parent.drainInbound() == [launch])
        #expect(parent.log.errors == [.sequenceMismatch(expected: 1, received: 0)])
        #expect(!parent.channel.isActive)
    }

    @Test func unsealedFrameAfterTheHandshakeClosesTheConnection() throws {
        let (child, parent) = try connectedPair()
        try shuttle(child, parent)
        parent.receive(Fixtures.bytes(MessageCodec.frame(launch)))
        #expect(parent.log.errors == [.missingMAC(.launch)])
        #expect(!parent.channel.isActive)
    }

    @Test func recordedSessionReplayedToAFreshResponderFails() throws {
        let (child, parent) = try connectedPair()
        child.channel.writeAndFlush(launch, promise: nil)
        let (recorded, _) = try shuttle(child, parent)
        #expect(try parent.drainInbound() == [launch])

        // An attacker replays everything the child sent to a new parent, which picks a fresh nonce.
        let victim = try WireEndpoint(Fixtures.configuration(.responder, nonce: 9))
        try victim.connect()
        for bytes in recorded { victim.receive(bytes) }
        #expect(victim.log.errors == [.authenticationFailed(reason: "initiator proof does not verify")])
        #expect(try victim.drainInbound().isEmpty)
        #expect(!victim.channel.isActive)
    }

    @Test func handshakeMessageAfterEstablishmentIsAViolation() throws {
        let (child, parent) = try connectedPair()
        try shuttle(child, parent)
        child.channel.writeAndFlush(Message.hello(Hello(jobID: Fixtures.jobID, sender: Fixtures.child, nonce: Fixtures.nonce(7))), promise: nil)
        try shuttle(child, parent)
        #expect(parent.log.errors == [.unexpectedMessage(.hello, state: "established")])
        #expect(!parent.channel.isActive)
    }

    @Test func silentPeerTimesOut() throws {
        let parent = try WireEndpoint(Fixtures.configuration(.responder, nonce: 2))
        try parent.connect()
        parent.channel.embeddedEventLoop.advanceTime(by: .seconds(4))
        #expect(parent.channel.isActive)
        parent.channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(parent.log.errors == [.handshakeTimedOut])
        #expect(!parent.channel.isActive)
        let sent = try frames(in: try parent.drainOutbound())
        #expect(sent.map(\.kind) == [.error])
    }

    @Test func completedHandshakeDoesNotTimeOut() throws {
        let (child, parent) = try connectedPair()
        try shuttle(child, parent)
        parent.channel.embeddedEventLoop.advanceTime(by: .seconds(60))
        child.channel.embeddedEventLoop.advanceTime(by: .seconds(60))
        #expect(parent.channel.isActive && child.channel.isActive)
        #expect(parent.log.count == 0)
    }

    @Test(arguments: [
        ("bad magic", ByteBuffer(bytes: Array("GET / HTTP/1.1\r\n\r\n".utf8)), WireError.badMagic(0x4745_5420)),
        ("bad version", ByteBuffer(bytes: [0x76, 0x48, 0x50, 0x43, 0x07]), WireError.unsupportedVersion(7)),
        ("unknown kind", ByteBuffer(bytes: [0x76, 0x48, 0x50, 0x43, 0x01, 0x99]), WireError.unknownKind(0x99)),
        ("oversized", ByteBuffer(bytes: [0x76, 0x48, 0x50, 0x43, 0x01, 0x41, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF]),
         WireError.frameTooLarge(length: Int(UInt32.max), limit: AuthenticationGate.preAuthenticationPayloadLimit)),
    ])
    func garbageClosesTheConnectionWithAReason(_ name: String, _ bytes: ByteBuffer, _ expected: WireError) throws {
        let parent = try WireEndpoint(Fixtures.configuration(.responder, nonce: 2))
        try parent.connect()
        parent.receive(bytes)
        #expect(parent.log.errors == [expected], "\(name)")
        #expect(!parent.channel.isActive)
    }

    @Test func connectionClosedMidFrameReportsTruncation() throws {
        let parent = try WireEndpoint(Fixtures.configuration(.responder, nonce: 2))
        try parent.connect()
        let hello = Fixtures.bytes(MessageCodec.frame(.hello(Hello(jobID: Fixtures.jobID, sender: Fixtures.child, nonce: Fixtures.nonce(1)))))
        parent.receive(hello.getSlice(at: 0, length: 30)!)
        _ = try? parent.channel.close().wait()
        #expect(parent.log.errors == [.truncatedFrame(bufferedBytes: 30)])
    }

    @Test func wrongJobIsRejectedWithItsOwnReason() throws {
        let (child, parent) = try connectedPair(
            initiator: Fixtures.configuration(.initiator, nonce: 1, jobID: "job-7"))
        try shuttle(child, parent)
        #expect(parent.log.errors == [.jobMismatch(expected: "job-42", received: "job-7")])
        #expect(child.log.errors.first?.code == .wrongJob)
    }
}
