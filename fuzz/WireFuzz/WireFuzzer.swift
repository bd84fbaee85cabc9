import NIOCore
import NIOEmbedded
import Wire

/// Runs one fuzz input through the wire decoder, codec, session and handshake.
///
/// The first byte picks a mode; the rest is the data. Besides "no crash, no hang", every mode checks
/// invariants with `precondition`, so a violation is a crash the fuzzer reports:
/// - decoding is canonical: a payload that decodes re-encodes to the same bytes;
/// - parsing is incremental: splitting the input anywhere yields the same frames;
/// - opening a sealed frame gives it back; altering any byte of it makes opening fail;
/// - no handshake established without the secret; no application message before authentication.
enum WireFuzzer {
    static let limits = FrameLimits(maxPayloadLength: 64 << 10)
    static let secret = JobSecret(bytes: Array(repeating: 0x42, count: 32))!
    static let jobID = "fuzz-job"
    static let responderIdentity = PeerIdentity(rank: 0, role: .rootAgent)
    static let initiatorIdentity = PeerIdentity(rank: 1, role: .rootAgent)

    static func run(_ input: UnsafeRawBufferPointer) {
        guard let mode = input.first else { return }
        let data = ByteBuffer(bytes: input.dropFirst())
        switch mode % 6 {
        case 0: parseAndRoundTrip(data, split: Int(mode / 6))
        case 1: driveResponder(data)
        case 2: driveInitiator(data)
        case 3: sealAndOpen(data, mutation: Int(mode / 6))
        case 4: pipeline(data, chunk: Int(mode / 6) + 1, authenticated: false)
        default: pipeline(data, chunk: Int(mode / 6) + 1, authenticated: true)
        }
    }

    // MARK: Modes

    /// Frames and messages parsed from `data`; checks the codec is canonical and parsing incremental.
    @discardableResult
    static func parseAndRoundTrip(_ data: ByteBuffer, split: Int) -> [Message] {
        let parser = FrameParser(limits: limits)
        var whole = data
        var frames: [Frame] = []
        var wholeError: WireError?
        do {
            while let frame = try parser.parse(&whole) { frames.append(frame) }
        } catch {
            wholeError = error
        }

        // The same bytes in two pieces must give the same frames (or the same error).
        let cut = data.readableBytes == 0 ? 0 : split % (data.readableBytes + 1)
        var pieces = data.getSlice(at: data.readerIndex, length: cut)!
        var rest = data.getSlice(at: data.readerIndex + cut, length: data.readableBytes - cut)!
        var incremental: [Frame] = []
        var incrementalError: WireError?
        do {
            while let frame = try parser.parse(&pieces) { incremental.append(frame) }
            pieces.writeBuffer(&rest)
            while let frame = try parser.parse(&pieces) { incremental.append(frame) }
        } catch {
            incrementalError = error
        }
        precondition(incremental == frames, "incremental parse differs")
        precondition(incrementalError == wholeError, "incremental parse fails differently")

        var messages: [Message] = []
        for frame in frames {
            guard let message = try? MessageCodec.message(from: frame) else { continue }
            precondition(message.kind == frame.kind)
            let reencoded = MessageCodec.frame(message, version: frame.header.version)
            precondition(reencoded.payload == frame.payload, "non-canonical encoding of \(message.kind)")
            messages.append(message)
        }
        return messages
    }

    /// A responder fed whatever messages the input holds: it must never establish a session.
    static func driveResponder(_ data: ByteBuffer) {
        var handshake = Handshake(configuration: configuration(.responder, nonce: 0xA5))
        _ = handshake.start(now: .uptimeNanoseconds(0))
        for message in parseAndRoundTrip(data, split: 0) {
            for action in handshake.receive(message) {
                if case .establish = action { preconditionFailure("responder authenticated a forged initiator") }
            }
        }
        _ = handshake.deadlinePassed(now: .uptimeNanoseconds(UInt64.max))
        precondition(handshake.phase != .established)
    }

    /// An initiator that sent hello, fed whatever messages the input holds: it must never establish.
    static func driveInitiator(_ data: ByteBuffer) {
        var handshake = Handshake(configuration: configuration(.initiator, nonce: 0x5A))
        _ = handshake.start(now: .uptimeNanoseconds(0))
        for message in parseAndRoundTrip(data, split: 0) {
            for action in handshake.receive(message) {
                if case .establish = action { preconditionFailure("initiator authenticated a forged responder") }
            }
        }
        precondition(handshake.phase != .established)
    }

    /// Seals each parsed frame, checks it opens intact, then flips one byte and checks it does not.
    static func sealAndOpen(_ data: ByteBuffer, mutation: Int) {
        var (sender, receiver) = establishedSessions()
        var whole = data
        let parser = FrameParser(limits: limits)
        while let frame = try? parser.parse(&whole) {
            guard let sealed = try? sender.seal(frame) else { return }
            var bytes = ByteBuffer()
            sealed.write(to: &bytes)

            var tampered = bytes
            let index = mutation % bytes.readableBytes
            tampered.setInteger(tampered.getInteger(at: index, as: UInt8.self)! ^ 0x01, at: index)
            var copy = receiver
            if let altered = try? parser.parse(&tampered) {
                precondition((try? copy.open(altered)) == nil, "altered frame opened")
            }

            guard let parsed = try? parser.parse(&bytes) else { preconditionFailure("sealed frame does not parse") }
            guard let opened = try? receiver.open(parsed) else { preconditionFailure("sealed frame does not open") }
            precondition(opened.payload == frame.payload && opened.kind == frame.kind)
            precondition((try? receiver.open(parsed)) == nil, "replayed frame opened")
        }
    }

    /// Feeds the input, `chunk` bytes at a time, to a responder pipeline (fresh, or already authenticated):
    /// it must not crash or hang, and must deliver nothing unauthenticated.
    static func pipeline(_ data: ByteBuffer, chunk: Int, authenticated: Bool) {
        guard let responder = try? endpoint(.responder, nonce: 0xA5) else { return }
        defer { release(responder) }
        if authenticated {
            guard let initiator = try? endpoint(.initiator, nonce: 0x5A) else { return }
            defer { release(initiator) }
            shuttle(initiator, responder)
            // Whatever the input holds is not sealed with the session key, so it must be rejected.
            feed(data, into: responder, chunk: chunk)
            if let message = try? responder.readInbound(as: Message.self) {
                preconditionFailure("pipeline delivered forged \(message.kind)")
            }
        } else {
            feed(data, into: responder, chunk: chunk)
            if let message = try? responder.readInbound(as: Message.self) {
                preconditionFailure("pipeline delivered \(message.kind) before authentication")
            }
        }
    }

    // MARK: Helpers

    static func configuration(_ role: Handshake.Role, nonce: UInt8) -> Handshake.Configuration {
        Handshake.Configuration(
            role: role,
            jobID: jobID,
            secret: secret,
            identity: role == .initiator ? initiatorIdentity : responderIdentity,
            timeout: .seconds(1),
            nonceSource: .fixed(Nonce(bytes: Array(repeating: nonce, count: 32))!)
        )
    }

    static func establishedSessions() -> (Session, Session) {
        var initiator = Handshake(configuration: configuration(.initiator, nonce: 0x5A))
        var responder = Handshake(configuration: configuration(.responder, nonce: 0xA5))
        var toResponder = sent(initiator.start(now: .uptimeNanoseconds(0)))
        _ = responder.start(now: .uptimeNanoseconds(0))
        var initiatorSession: Session?
        var responderSession: Session?
        while !toResponder.isEmpty {
            var toInitiator: [Message] = []
            for message in toResponder {
                let actions = responder.receive(message)
                toInitiator += sent(actions)
                responderSession = responderSession ?? session(actions)
            }
            toResponder = []
            for message in toInitiator {
                let actions = initiator.receive(message)
                toResponder += sent(actions)
                initiatorSession = initiatorSession ?? session(actions)
            }
        }
        return (initiatorSession!, responderSession!)
    }

    static func sent(_ actions: [Handshake.Action]) -> [Message] {
        actions.compactMap { if case .send(let message) = $0 { return message } else { return nil } }
    }

    static func session(_ actions: [Handshake.Action]) -> Session? {
        for case .establish(let session) in actions { return session }
        return nil
    }

    static func endpoint(_ role: Handshake.Role, nonce: UInt8) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addWireHandlers(
            handshake: configuration(role, nonce: nonce), limits: limits, reportError: { _ in })
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return channel
    }

    /// Closes `channel` and runs its loop, so the pipeline is torn down and its memory freed.
    /// (`finish()` alone throws on an already-closed channel before tearing down, leaking the pipeline.)
    static func release(_ channel: EmbeddedChannel) {
        _ = try? channel.finish(acceptAlreadyClosed: true)
        channel.embeddedEventLoop.run()
    }

    static func shuttle(_ a: EmbeddedChannel, _ b: EmbeddedChannel) {
        var moved = true
        while moved {
            moved = false
            while let bytes = try? a.readOutbound(as: ByteBuffer.self) {
                moved = true
                _ = try? b.writeInbound(bytes)
            }
            while let bytes = try? b.readOutbound(as: ByteBuffer.self) {
                moved = true
                _ = try? a.writeInbound(bytes)
            }
        }
    }

    static func feed(_ data: ByteBuffer, into channel: EmbeddedChannel, chunk: Int) {
        var data = data
        while data.readableBytes > 0, channel.isActive {
            let piece = data.readSlice(length: min(chunk, data.readableBytes))!
            _ = try? channel.writeInbound(piece)
        }
        _ = try? channel.close().wait()
    }
}
