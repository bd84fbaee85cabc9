import GuestCrypto
import GuestProtocol
import NIOCore
import Testing
import Wire

/// The guest channel's layers without a VM: message bodies, their mapping onto Wire, OpenSSL's crypto
/// against swift-crypto's, and the guest's end of the link against a host end built from Wire's state
/// machines.
@Suite struct GuestLinkTests {
    static let samples: [GuestMessage] = [
        .ready(GuestInfo(kernelRelease: "6.1.0-56-cloud-amd64", hostname: "vm-1", vseName: "tiny", agentVersion: "1", counter: 42)),
        .exec(id: 7, argv: ["sh", "-c", "echo ü"], environment: ["A=1", "B=", "C=x=y"], workingDirectory: "/tmp"),
        .stdin(id: 7, bytes: [1, 2, 3]),
        .stdin(id: 7, bytes: []),
        .signal(id: 7, signal: 15),
        .output(id: 7, stream: .stderr, bytes: Array("err\n".utf8)),
        .output(id: 7, stream: .stdout, bytes: Array("out\n".utf8)),
        .exited(id: 7, status: -1),
        .execFailed(id: 9, reason: "nope: No such file or directory"),
        .statusRequest,
        .status(counter: UInt64.max, uptimeMilliseconds: 12),
        .shutdown(reboot: true),
        .pmi(id: 7, bytes: Array("cmd=barrier_in\n".utf8)),
        .pmix(id: 7, connection: 2, bytes: [0xff, 0, 1]),
        .pmix(id: 7, connection: 3, bytes: []),
    ]

    @Test func everyMessageCrossesWireAndComesBackTheSame() throws {
        var sender = GuestWireTranslator(rank: 2)
        var receiver = GuestWireTranslator(rank: 0)
        for message in Self.samples {
            let wire = sender.wireMessage(for: message)
            // Through the real codec, as on the channel.
            let decoded = try MessageCodec.message(from: MessageCodec.frame(wire))
            #expect(try receiver.guestMessage(from: decoded) == message)
        }
    }

    @Test func aGapInAnOutputStreamIsAnErrorNotSilentLoss() throws {
        var sender = GuestWireTranslator(rank: 1)
        var receiver = GuestWireTranslator(rank: 0)
        _ = try receiver.guestMessage(from: sender.wireMessage(for: .output(id: 1, stream: .stdout, bytes: [1])))
        _ = sender.wireMessage(for: .output(id: 1, stream: .stdout, bytes: [2]))  // lost on the way
        #expect(throws: GuestMessageError.self) {
            _ = try receiver.guestMessage(from: sender.wireMessage(for: .output(id: 1, stream: .stdout, bytes: [3])))
        }
    }

    @Test func badBodiesAndForeignMessagesAreRejected() {
        #expect(throws: GuestMessageError.unknownKind(200)) { _ = try GuestMessageBody.decode([200][...]) }
        let truncated = Array(GuestMessageBody.encode(.exited(id: 1, status: 0)).dropLast())
        #expect(throws: GuestMessageError.self) { _ = try GuestMessageBody.decode(truncated[...]) }
        #expect(throws: GuestMessageError.self) { _ = try GuestMessageBody.decode((GuestMessageBody.encode(.statusRequest) + [0])[...]) }
        var translator = GuestWireTranslator(rank: 0)
        #expect(throws: GuestMessageError.self) { _ = try translator.guestMessage(from: .ping(Heartbeat(id: 1, timestamp: 2))) }
        // WireCore's codec: strings must be UTF-8 (they used to be patched with U+FFFD, so a body re-encoded
        // to other bytes), booleans 0 or 1, and a string count must fit the bytes left.
        let reason = GuestMessageBody.encode(.execFailed(id: 1, reason: "ab"))
        #expect(throws: GuestMessageError.self) { _ = try GuestMessageBody.decode((reason.dropLast(2) + [0xff, 0xfe])[...]) }
        #expect(throws: GuestMessageError.self) { _ = try GuestMessageBody.decode([11, 2][...]) }  // shutdown(reboot: 2)
        #expect(throws: GuestMessageError.self) { _ = try GuestMessageBody.decode([3, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff][...]) }
    }

    @Test func openSSLGivesSwiftCryptosBytes() {
        let openSSL = OpenSSLWireCryptography()
        let swiftCrypto = SwiftCryptoWire()
        let key = (0..<32).map { UInt8($0) }
        let data = Array("vhpc guest link".utf8)
        #expect(data.withUnsafeBytes { openSSL.sha256($0) } == data.withUnsafeBytes { swiftCrypto.sha256($0) })
        #expect(openSSL.hmacSHA256(key: key, data: data) == swiftCrypto.hmacSHA256(key: key, data: data))
        let infos = [Array("a".utf8), Array("b".utf8)]
        #expect(openSSL.hkdfSHA256(inputKeyMaterial: key, salt: data, infos: infos, outputByteCount: 32)
                == swiftCrypto.hkdfSHA256(inputKeyMaterial: key, salt: data, infos: infos, outputByteCount: 32))
        let header = [UInt8](repeating: 9, count: 20)
        let mine = header.withUnsafeBytes { h in data.withUnsafeBytes { openSSL.frameMACKey(key).mac(header: h, payload: $0) } }
        let theirs = header.withUnsafeBytes { h in data.withUnsafeBytes { swiftCrypto.frameMACKey(key).mac(header: h, payload: $0) } }
        #expect(mine == theirs)
    }

    /// The host end, as GuestChannel's Wire handlers run it: an initiator handshake, then a session.
    struct HostEnd {
        var handshake: Handshake
        var session: Session?
        var translator = GuestWireTranslator(rank: 0)
        var failure: WireError?

        init(_ credentials: GuestCredentials) {
            handshake = Handshake(configuration: Handshake.Configuration(
                role: .initiator, jobID: credentials.jobID, secret: credentials.secret,
                identity: credentials.hostIdentity, expectedPeer: credentials.guestIdentity))
        }

        /// Bytes of the hello.
        mutating func start() -> [UInt8] { apply(handshake.start(now: .now())) }

        /// Feeds bytes from the guest; returns bytes for it and the guest messages received.
        mutating func receive(_ bytes: [UInt8]) throws -> (reply: [UInt8], messages: [GuestMessage]) {
            var input = ByteBuffer(bytes: bytes)
            var reply: [UInt8] = []
            var messages: [GuestMessage] = []
            while let frame = try FrameParser().parse(&input) {
                if var session {
                    messages.append(try translator.guestMessage(from: MessageCodec.message(from: session.open(frame))))
                    self.session = session
                } else {
                    reply += apply(handshake.receive(try MessageCodec.message(from: frame)))
                }
            }
            return (reply, messages)
        }

        mutating func seal(_ message: GuestMessage) throws -> [UInt8] {
            var out = ByteBuffer()
            try session!.seal(MessageCodec.frame(translator.wireMessage(for: message))).write(to: &out)
            return Array(out.readableBytesView)
        }

        private mutating func apply(_ actions: [Handshake.Action]) -> [UInt8] {
            var out = ByteBuffer()
            for action in actions {
                switch action {
                case .send(let message): MessageCodec.frame(message).write(to: &out)
                case .establish(let session): self.session = session
                case .fail(let error): failure = error
                }
            }
            return Array(out.readableBytesView)
        }
    }

    /// Runs one exchange: host bytes into the guest, the guest's `.send` bytes back.
    static func deliver(_ bytes: [UInt8], to guest: inout GuestLinkEndpoint) -> (bytes: [UInt8], events: [GuestLinkEndpoint.Event]) {
        let events = bytes.withUnsafeBytes { guest.receive($0, now: .now()) }
        var out: [UInt8] = []
        for case .send(let reply) in events { out += reply }
        return (out, events)
    }

    @Test func theGuestAuthenticatesItsHostThenEveryFrameIsSealed() throws {
        let credentials = GuestCredentials(jobID: "job-7", rank: 5, secret: .generate())
        var guest = GuestLinkEndpoint(credentials: credentials, crypto: OpenSSLWireCryptography())
        var host = HostEnd(credentials)
        #expect(guest.send(.statusRequest) == nil, "nothing is sent before a host authenticates")

        let challenge = Self.deliver(host.start(), to: &guest)
        let response = try host.receive(challenge.bytes)
        let welcome = Self.deliver(response.reply, to: &guest)
        #expect(welcome.events.contains(.established))
        _ = try host.receive(welcome.bytes)
        #expect(host.session != nil && host.failure == nil)

        // Guest → host and host → guest, sealed.
        let ready = GuestMessage.status(counter: 3, uptimeMilliseconds: 4)
        #expect(try host.receive(guest.send(ready)!).messages == [ready])
        let exec = GuestMessage.exec(id: 1, argv: ["true"], environment: [], workingDirectory: "/")
        #expect(Self.deliver(try host.seal(exec), to: &guest).events == [.message(exec)])

        // A new host takes over an established session with its own hello.
        var second = HostEnd(credentials)
        let again = Self.deliver(second.start(), to: &guest)
        #expect(again.events.first == .reset, "bytes queued for the old host are dropped first")
        #expect(!guest.isEstablished)
        let secondWelcome = Self.deliver(try second.receive(again.bytes).reply, to: &guest)
        #expect(secondWelcome.events.contains(.established))
        _ = try second.receive(secondWelcome.bytes)

        // One flipped byte in a sealed frame drops the session.
        var tampered = try second.seal(.statusRequest)
        tampered[tampered.count - 1] ^= 1
        let dropped = Self.deliver(tampered, to: &guest).events
        #expect(dropped.count == 1 && !guest.isEstablished)
        if case .failed(let reason) = dropped.first { #expect(reason.contains("MAC")) } else { Issue.record("\(dropped)") }

        // A hello in the middle of a handshake restarts it too.
        var third = HostEnd(credentials)
        _ = Self.deliver(third.start(), to: &guest)
        var fourth = HostEnd(credentials)
        let restarted = Self.deliver(fourth.start(), to: &guest)
        #expect(restarted.events.first == .reset)
        #expect(Self.deliver(try fourth.receive(restarted.bytes).reply, to: &guest).events.contains(.established))
    }

    @Test func aHostWithoutTheSecretIsRefused() throws {
        let credentials = GuestCredentials(jobID: "job-7", rank: 5, secret: .generate())
        var guest = GuestLinkEndpoint(credentials: credentials, crypto: OpenSSLWireCryptography())
        var impostor = HostEnd(GuestCredentials(jobID: "job-7", rank: 5, secret: .generate()))
        let challenge = Self.deliver(impostor.start(), to: &guest)
        let refused = Self.deliver(try impostor.receive(challenge.bytes).reply, to: &guest)
        #expect(!guest.isEstablished)
        #expect(refused.events.contains { if case .failed(let why) = $0 { why.contains("proof") } else { false } })
        _ = try impostor.receive(refused.bytes)
        #expect(impostor.session == nil && impostor.failure != nil)
    }

    @Test func credentialsRoundTripAndBadFilesAreClearErrors() throws {
        let credentials = GuestCredentials(jobID: "job-1", rank: 9, secret: .generate())
        let parsed = try GuestCredentials(fileContents: credentials.fileContents)
        #expect(parsed.jobID == "job-1" && parsed.rank == 9 && parsed.secret == credentials.secret)
        #expect(throws: GuestCredentialsError.malformed("credentials without a valid secret")) {
            _ = try GuestCredentials(fileContents: "job=j\nrank=1\nsecret=zz\n")
        }
        #expect(throws: GuestCredentialsError.malformed("credentials without a rank")) {
            _ = try GuestCredentials(fileContents: "job=j\nsecret=\(credentials.secret.hexEncoded)\n")
        }
    }
}
