import NIOCore
import Testing
@testable import WireCore
import Wire

@Suite struct HandshakeTests {
    static let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)

    /// Messages in `actions` to send, in order.
    static func sent(_ actions: [Handshake.Action]) -> [Message] {
        actions.compactMap { if case .send(let message) = $0 { return message } else { return nil } }
    }

    static func session(_ actions: [Handshake.Action]) -> Session? {
        for case .establish(let session) in actions { return session }
        return nil
    }

    static func failure(_ actions: [Handshake.Action]) -> WireError? {
        for case .fail(let error) in actions { return error }
        return nil
    }

    /// Exchanges messages (through encode and decode) until neither side has anything to send.
    static func run(
        _ initiator: inout Handshake,
        _ responder: inout Handshake
    ) throws -> (initiator: [Handshake.Action], responder: [Handshake.Action]) {
        var initiatorActions = initiator.start(now: t0)
        var responderActions = responder.start(now: t0)
        var toResponder = sent(initiatorActions)
        var toInitiator: [Message] = []
        while !toResponder.isEmpty || !toInitiator.isEmpty {
            for message in toResponder {
                let actions = responder.receive(try wireRoundTrip(message))
                responderActions += actions
                toInitiator += sent(actions)
            }
            toResponder = []
            for message in toInitiator {
                let actions = initiator.receive(try wireRoundTrip(message))
                initiatorActions += actions
                toResponder += sent(actions)
            }
            toInitiator = []
        }
        return (initiatorActions, responderActions)
    }

    static func wireRoundTrip(_ message: Message) throws -> Message {
        var bytes = Fixtures.bytes(MessageCodec.frame(message))
        return try MessageCodec.message(from: try #require(try FrameParser().parse(&bytes)))
    }

    @Test func establishesMutuallyAuthenticatedSessions() throws {
        var initiator = Handshake(configuration: Fixtures.configuration(.initiator, nonce: 1))
        var responder = Handshake(configuration: Fixtures.configuration(.responder, nonce: 2))
        let (initiatorActions, responderActions) = try Self.run(&initiator, &responder)

        #expect(Self.sent(initiatorActions).map(\.kind) == [.hello, .response])
        #expect(Self.sent(responderActions).map(\.kind) == [.challenge, .welcome])
        #expect(initiator.phase == .established && responder.phase == .established)
        #expect(initiator.peer == Fixtures.parent)
        #expect(responder.peer == Fixtures.child)
        #expect(initiator.deadline == nil && responder.deadline == nil)

        var initiatorSession = try #require(Self.session(initiatorActions))
        var responderSession = try #require(Self.session(responderActions))
        let command = Message.launch(LaunchCommand(id: 1, executable: "/bin/true"))
        let sealed = try initiatorSession.seal(MessageCodec.frame(command))
        #expect(try MessageCodec.message(from: responderSession.open(sealed)) == command)
        let reply = try responderSession.seal(MessageCodec.frame(.ack(Ack(of: .launch, id: 1))))
        #expect(try MessageCodec.message(from: initiatorSession.open(reply)) == .ack(Ack(of: .launch, id: 1)))
    }

    @Test func wrongSecretFailsAtTheResponder() throws {
        var initiator = Handshake(configuration: Fixtures.configuration(.initiator, nonce: 1, secret: Fixtures.otherSecret))
        var responder = Handshake(configuration: Fixtures.configuration(.responder, nonce: 2))
        let (initiatorActions, responderActions) = try Self.run(&initiator, &responder)
        #expect(Self.failure(responderActions) == .authenticationFailed(reason: "initiator proof does not verify"))
        #expect(Self.session(responderActions) == nil)
        // The responder tells the initiator, which fails too, without answering.
        #expect(Self.failure(initiatorActions) == .rejectedByPeer(
            code: ErrorCode.authenticationFailed.rawValue,
            message: "authentication failed: initiator proof does not verify"))
        #expect(Self.session(initiatorActions) == nil)
    }

    @Test func fakeResponderFailsAtTheInitiator() {
        var initiator = Handshake(configuration: Fixtures.configuration(.initiator, nonce: 1))
        var impostor = Handshake(configuration: Fixtures.configuration(.responder, nonce: 2, secret: Fixtures.otherSecret))
        let hello = Self.sent(initiator.start(now: Self.t0))[0]
        _ = impostor.start(now: Self.t0)
        let challenge = Self.sent(impostor.receive(hello))[0]
        let response = Self.sent(initiator.receive(challenge))[0]
        // The impostor cannot verify the response; pretend it welcomes anyway with its own proof.
        let forgedWelcome = Message.welcome(Welcome(proof: HandshakeProof(bytes: Array(repeating: 0, count: 32))!))
        _ = impostor.receive(response)
        let actions = initiator.receive(forgedWelcome)
        #expect(Self.failure(actions) == .authenticationFailed(reason: "responder proof does not verify"))
        #expect(Self.session(actions) == nil)
    }

    @Test func recordedInitiatorCannotBeReplayedIntoANewSession() throws {
        // Session 1, recorded by an eavesdropper.
        var initiator = Handshake(configuration: Fixtures.configuration(.initiator, nonce: 1))
        var responder = Handshake(configuration: Fixtures.configuration(.responder, nonce: 2))
        let (recorded, _) = try Self.run(&initiator, &responder)
        let recordedMessages = Self.sent(recorded)
        #expect(recordedMessages.map(\.kind) == [.hello, .response])

        // Session 2: the attacker replays hello and response to a responder, which picks a fresh nonce.
        var victim = Handshake(configuration: Fixtures.configuration(.responder, nonce: 3))
        _ = victim.start(now: Self.t0)
        let challenge = Self.sent(victim.receive(recordedMessages[0]))
        #expect(challenge.map(\.kind) == [.challenge])
        let actions = victim.receive(recordedMessages[1])
        #expect(Self.failure(actions) == .authenticationFailed(reason: "initiator proof does not verify"))
        #expect(Self.session(actions) == nil)
        #expect(victim.phase == .failed)
    }

    @Test func recordedResponderCannotBeReplayedIntoANewSession() throws {
        var initiator = Handshake(configuration: Fixtures.configuration(.initiator, nonce: 1))
        var responder = Handshake(configuration: Fixtures.configuration(.responder, nonce: 2))
        let (_, recorded) = try Self.run(&initiator, &responder)
        let recordedMessages = Self.sent(recorded)
        #expect(recordedMessages.map(\.kind) == [.challenge, .welcome])

        // A fake parent replays the old challenge and welcome to a child that uses a fresh nonce.
        var victim = Handshake(configuration: Fixtures.configuration(.initiator, nonce: 4))
        _ = victim.start(now: Self.t0)
        _ = victim.receive(recordedMessages[0])
        let actions = victim.receive(recordedMessages[1])
        #expect(Self.failure(actions) == .authenticationFailed(reason: "responder proof does not verify"))
        #expect(Self.session(actions) == nil)
    }

    @Test func responderThatEchoesTheInitiatorNonceIsRejected() {
        var initiator = Handshake(configuration: Fixtures.configuration(.initiator, nonce: 1))
        _ = initiator.start(now: Self.t0)
        let actions = initiator.receive(.challenge(Challenge(version: .v1, sender: Fixtures.parent, nonce: Fixtures.nonce(1))))
        #expect(Self.failure(actions) == .authenticationFailed(reason: "responder echoed the initiator's nonce"))
    }

    @Test func otherJobIsRejectedWithAnErrorMessage() {
        var responder = Handshake(configuration: Fixtures.configuration(.responder, nonce: 2))
        _ = responder.start(now: Self.t0)
        let actions = responder.receive(.hello(Hello(jobID: "job-7", sender: Fixtures.child, nonce: Fixtures.nonce(1))))
        #expect(Self.failure(actions) == .jobMismatch(expected: "job-42", received: "job-7"))
        guard case .error(let error) = Self.sent(actions).first else {
            Issue.record("no error message sent")
            return
        }
        #expect(error.code == .wrongJob)
    }

    @Test func noCommonVersionIsRejected() {
        var responder = Handshake(configuration: Fixtures.configuration(.responder, nonce: 2))
        _ = responder.start(now: Self.t0)
        let future = ProtocolVersion(rawValue: 5)
        let actions = responder.receive(.hello(Hello(
            minimumVersion: future, maximumVersion: future, jobID: Fixtures.jobID, sender: Fixtures.child,
            nonce: Fixtures.nonce(1))))
        #expect(Self.failure(actions) == .noCommonVersion(peerMinimum: 5, peerMaximum: 5))
    }

    @Test func unexpectedPeerIdentityIsRejected() {
        var responder = Handshake(configuration: Fixtures.configuration(
            .responder, nonce: 2, expectedPeer: PeerIdentity(rank: 9, role: .sessionAgent)))
        _ = responder.start(now: Self.t0)
        let actions = responder.receive(.hello(Hello(jobID: Fixtures.jobID, sender: Fixtures.child, nonce: Fixtures.nonce(1))))
        #expect(Self.failure(actions) == .authenticationFailed(reason: "peer claims to be rootAgent#3, expected sessionAgent#9"))
    }

    @Test(arguments: Fixtures.messages.filter { $0.kind != .hello && $0.kind != .error })
    func commandsBeforeTheHandshakeAreRejected(_ message: Message) {
        var responder = Handshake(configuration: Fixtures.configuration(.responder, nonce: 2))
        _ = responder.start(now: Self.t0)
        let actions = responder.receive(message)
        #expect(Self.failure(actions) == .unexpectedMessage(message.kind, state: "awaiting hello"))
        #expect(Self.session(actions) == nil)
    }

    @Test func errorFromThePeerFailsWithoutReply() {
        var initiator = Handshake(configuration: Fixtures.configuration(.initiator, nonce: 1))
        _ = initiator.start(now: Self.t0)
        let actions = initiator.receive(.error(ErrorMessage(code: .wrongJob, message: "nope")))
        #expect(Self.sent(actions).isEmpty)
        #expect(Self.failure(actions) == .rejectedByPeer(code: ErrorCode.wrongJob.rawValue, message: "nope"))
    }

    @Test func deadlineIsExposedAndEnforced() {
        var responder = Handshake(configuration: Fixtures.configuration(.responder, nonce: 2))
        #expect(responder.deadline == nil)
        _ = responder.start(now: Self.t0)
        #expect(responder.deadline == Self.t0 + .seconds(5))
        #expect(responder.deadlinePassed(now: Self.t0 + .seconds(4)).isEmpty)
        let actions = responder.deadlinePassed(now: Self.t0 + .seconds(5))
        #expect(Self.failure(actions) == .handshakeTimedOut)
        #expect(responder.phase == .failed)
    }

    @Test func messagesAfterTheEndAreIgnoredByTheStateMachine() throws {
        var initiator = Handshake(configuration: Fixtures.configuration(.initiator, nonce: 1))
        var responder = Handshake(configuration: Fixtures.configuration(.responder, nonce: 2))
        _ = try Self.run(&initiator, &responder)
        #expect(responder.receive(.hello(Hello(jobID: Fixtures.jobID, sender: Fixtures.child, nonce: Fixtures.nonce(5)))).isEmpty)
        #expect(responder.deadlinePassed(now: .distantFuture).isEmpty)
    }

    @Test func startIsIdempotent() {
        var initiator = Handshake(configuration: Fixtures.configuration(.initiator, nonce: 1))
        #expect(Self.sent(initiator.start(now: Self.t0)).count == 1)
        #expect(initiator.start(now: Self.t0).isEmpty)
    }

    @Test func secretRoundTripsThroughHexAndIsRedacted() {
        let secret = JobSecret.generate()
        let copy = JobSecret(hexEncoded: secret.hexEncoded)
        #expect(copy?.hexEncoded == secret.hexEncoded)
        #expect(secret.hexEncoded.count == 64)
        #expect("\(secret)" == "JobSecret(redacted)")
        #expect(JobSecret(bytes: [1, 2, 3]) == nil)
        #expect(JobSecret(hexEncoded: "zz") == nil)
    }
}
