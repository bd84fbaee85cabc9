import NIOCore

/// The connection handshake as a sans-I/O state machine: feed it messages, execute the actions it returns.
///
/// ```
///  initiator                                   responder
///    start ──── hello(versions, job, me, Ni) ───▶
///          ◀─── challenge(version, me, Nr) ────
///          ──── response(initiator proof) ────▶  verifies, then establishes
///          ◀─── welcome(responder proof) ──────
///    verifies, then establishes; every later frame in both directions is sealed (see ``Session``)
/// ```
///
/// Both proofs are HMACs under the job secret over a transcript holding both nonces (see
/// ``HandshakeTranscript``), so authentication is mutual and a recorded handshake cannot be replayed. Any
/// failure yields an ``ErrorMessage`` to send (unless the peer sent one) and a ``Action/fail(_:)``.
///
/// It never reads a clock: ``start(now:)`` sets ``deadline`` and the shell calls ``deadlinePassed(now:)``
/// when a timer for it fires.
public struct Handshake: Sendable {
    /// Which side of the connection this is.
    public enum Role: Hashable, Sendable {
        /// Opened the connection; sends hello.
        case initiator
        /// Accepted the connection; answers with a challenge.
        case responder
    }

    /// Everything a handshake needs to know about this side.
    public struct Configuration: Sendable {
        public var role: Role
        public var jobID: String
        public var secret: JobSecret
        public var identity: PeerIdentity
        /// If set, the peer must claim exactly this identity.
        public var expectedPeer: PeerIdentity?
        /// How long the whole handshake may take.
        public var timeout: Duration
        public var versions: ClosedRange<ProtocolVersion>
        public var nonceSource: NonceSource
        /// SHA-256, HMAC and HKDF for the proofs and keys (module `Wire` supplies swift-crypto's by default).
        public var crypto: any WireCryptography

        public init(
            role: Role,
            jobID: String,
            secret: JobSecret,
            identity: PeerIdentity,
            expectedPeer: PeerIdentity? = nil,
            timeout: Duration = .seconds(10),
            versions: ClosedRange<ProtocolVersion> = ProtocolVersion.supported,
            nonceSource: NonceSource = .system,
            crypto: any WireCryptography
        ) {
            self.role = role
            self.jobID = jobID
            self.secret = secret
            self.identity = identity
            self.expectedPeer = expectedPeer
            self.timeout = timeout
            self.versions = versions
            self.nonceSource = nonceSource
            self.crypto = crypto
        }
    }

    /// What the shell must do.
    public enum Action: Sendable {
        /// Write this message (unsealed) to the peer.
        case send(Message)
        /// The peer is authenticated: seal and verify every later frame with this session.
        case establish(Session)
        /// The handshake failed: close the connection, logging the error.
        case fail(WireError)
    }

    /// Where the handshake stands.
    public enum Phase: Hashable, Sendable, CustomStringConvertible {
        case idle
        case awaitingHello
        case awaitingChallenge
        case awaitingResponse
        case awaitingWelcome
        case established
        case failed

        public var description: String {
            switch self {
            case .idle: return "not started"
            case .awaitingHello: return "awaiting hello"
            case .awaitingChallenge: return "awaiting challenge"
            case .awaitingResponse: return "awaiting response"
            case .awaitingWelcome: return "awaiting welcome"
            case .established: return "established"
            case .failed: return "failed"
            }
        }
    }

    private enum State {
        case idle
        case awaitingHello
        case awaitingChallenge(Hello)
        case awaitingResponse(HandshakeTranscript, Session)
        case awaitingWelcome(HandshakeTranscript, Session)
        case established(PeerIdentity)
        case failed(WireError)
    }

    public let configuration: Configuration
    private var state: State = .idle
    /// When the handshake must have completed; set by ``start(now:)``, cleared once it ends.
    public private(set) var deadline: NIODeadline?

    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    public var phase: Phase {
        switch state {
        case .idle: return .idle
        case .awaitingHello: return .awaitingHello
        case .awaitingChallenge: return .awaitingChallenge
        case .awaitingResponse: return .awaitingResponse
        case .awaitingWelcome: return .awaitingWelcome
        case .established: return .established
        case .failed: return .failed
        }
    }

    /// The authenticated peer, once established.
    public var peer: PeerIdentity? {
        if case .established(let peer) = state { return peer }
        return nil
    }

    /// The error that ended the handshake, if it failed.
    public var failure: WireError? {
        if case .failed(let error) = state { return error }
        return nil
    }

    /// Begins the handshake when the connection becomes active. The initiator sends hello.
    public mutating func start(now: NIODeadline) -> [Action] {
        guard case .idle = state else { return [] }
        deadline = now + TimeAmount(configuration.timeout)
        switch configuration.role {
        case .initiator:
            let hello = Hello(
                minimumVersion: configuration.versions.lowerBound,
                maximumVersion: configuration.versions.upperBound,
                jobID: configuration.jobID,
                sender: configuration.identity,
                nonce: configuration.nonceSource.next()
            )
            state = .awaitingChallenge(hello)
            return [.send(.hello(hello))]
        case .responder:
            state = .awaitingHello
            return []
        }
    }

    /// Handles a message from the peer.
    public mutating func receive(_ message: Message) -> [Action] {
        switch (state, message) {
        case (.failed, _), (.established, _):
            // Nothing is owed to the peer any more; the shell decides what late messages mean.
            return []
        case (_, .error(let error)):
            return fail(.rejectedByPeer(code: error.code.rawValue, message: error.message), notifyPeer: false)
        case (.awaitingHello, .hello(let hello)):
            return receiveHello(hello)
        case (.awaitingChallenge(let hello), .challenge(let challenge)):
            return receiveChallenge(challenge, after: hello)
        case (.awaitingResponse(let transcript, let session), .response(let response)):
            guard response.proof.constantTimeEquals(transcript.initiatorProof) else {
                return fail(.authenticationFailed(reason: "initiator proof does not verify"))
            }
            return establish(session, sending: .welcome(Welcome(proof: transcript.responderProof)))
        case (.awaitingWelcome(let transcript, let session), .welcome(let welcome)):
            guard welcome.proof.constantTimeEquals(transcript.responderProof) else {
                return fail(.authenticationFailed(reason: "responder proof does not verify"))
            }
            return establish(session, sending: nil)
        default:
            return fail(.unexpectedMessage(message.kind, state: phase.description))
        }
    }

    /// Call when a timer set for ``deadline`` fires; fails the handshake if it has not completed by `now`.
    public mutating func deadlinePassed(now: NIODeadline) -> [Action] {
        switch state {
        case .established, .failed:
            return []
        default:
            guard let deadline, now >= deadline else { return [] }
            return fail(.handshakeTimedOut)
        }
    }

    // MARK: Steps

    private mutating func receiveHello(_ hello: Hello) -> [Action] {
        guard hello.jobID == configuration.jobID else {
            return fail(.jobMismatch(expected: configuration.jobID, received: hello.jobID))
        }
        let common = min(hello.maximumVersion, configuration.versions.upperBound)
        guard common >= hello.minimumVersion, common >= configuration.versions.lowerBound else {
            return fail(.noCommonVersion(peerMinimum: hello.minimumVersion.rawValue, peerMaximum: hello.maximumVersion.rawValue))
        }
        if let failure = checkExpectedPeer(hello.sender) { return failure }
        let challenge = Challenge(version: common, sender: configuration.identity, nonce: configuration.nonceSource.next())
        let transcript = HandshakeTranscript(secret: configuration.secret, hello: hello, challenge: challenge, crypto: configuration.crypto)
        let session = transcript.session(role: .responder, version: common, peer: hello.sender)
        state = .awaitingResponse(transcript, session)
        return [.send(.challenge(challenge))]
    }

    private mutating func receiveChallenge(_ challenge: Challenge, after hello: Hello) -> [Action] {
        guard challenge.version >= hello.minimumVersion, challenge.version <= hello.maximumVersion else {
            return fail(.unsupportedVersion(challenge.version.rawValue))
        }
        guard challenge.nonce != hello.nonce else {
            return fail(.authenticationFailed(reason: "responder echoed the initiator's nonce"))
        }
        if let failure = checkExpectedPeer(challenge.sender) { return failure }
        let transcript = HandshakeTranscript(secret: configuration.secret, hello: hello, challenge: challenge, crypto: configuration.crypto)
        let session = transcript.session(role: .initiator, version: challenge.version, peer: challenge.sender)
        state = .awaitingWelcome(transcript, session)
        return [.send(.response(ChallengeResponse(proof: transcript.initiatorProof)))]
    }

    private mutating func checkExpectedPeer(_ claimed: PeerIdentity) -> [Action]? {
        guard let expected = configuration.expectedPeer, expected != claimed else { return nil }
        return fail(.authenticationFailed(reason: "peer claims to be \(claimed), expected \(expected)"))
    }

    private mutating func establish(_ session: Session, sending message: Message?) -> [Action] {
        state = .established(session.peer)
        deadline = nil
        var actions: [Action] = []
        if let message { actions.append(.send(message)) }
        actions.append(.establish(session))
        return actions
    }

    private mutating func fail(_ error: WireError, notifyPeer: Bool = true) -> [Action] {
        state = .failed(error)
        deadline = nil
        guard notifyPeer else { return [.fail(error)] }
        return [.send(.error(ErrorMessage(code: error.code, message: error.description))), .fail(error)]
    }
}
