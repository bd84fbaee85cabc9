import NIOCore
import WireCore

/// The guest agent's end of the guest channel, sans I/O: a Wire responder. Feed it the bytes read from the
/// virtio-serial port; write the bytes it returns.
///
/// Every host connection starts with the Wire handshake (the host, as the tool agent, sends hello); the
/// guest proves it holds the job secret and learns that the host does. Then every frame is sealed with the
/// session's MAC and sequence numbers, and carries ``GuestMessage``s as ``GuestWireTranslator`` maps them.
/// A new host (after a disconnect, a migration, another `vhpc vm exec`) simply sends a new hello: the old
/// session is dropped and a new handshake begins. Bytes that cannot form a frame drop the session.
public struct GuestLinkEndpoint {
    /// What the agent must do.
    public enum Event: Equatable {
        /// Write these bytes to the port.
        case send([UInt8])
        /// A new host took over (its hello came mid-handshake or mid-session): drop whatever is still
        /// queued for the old one. Comes before the new handshake's `.send`.
        case reset
        /// An authenticated host is connected; say `ready`.
        case established
        /// A message from the authenticated host.
        case message(GuestMessage)
        /// The link failed (bad frame, bad MAC, failed handshake); it waits for a new hello.
        case failed(String)
    }

    public private(set) var credentials: GuestCredentials
    /// Asked when a host's hello begins a new handshake, before the guest answers it: credentials that
    /// replace the current ones, or nil to keep them. A guest restored from a snapshot finds its own VM's
    /// credentials there (the template's are never answered again) and takes on its identity first.
    public var onNewHost: (() -> GuestCredentials?)?
    private let crypto: any WireCryptography
    private let parser: FrameParser
    private var input = ByteBuffer()
    private var handshake: Handshake
    private var session: Session?
    private var translator: GuestWireTranslator

    public init(credentials: GuestCredentials, crypto: any WireCryptography, limits: FrameLimits = FrameLimits()) {
        self.credentials = credentials
        self.crypto = crypto
        self.parser = FrameParser(limits: limits)
        self.handshake = Self.freshHandshake(credentials, crypto)
        self.translator = GuestWireTranslator(rank: credentials.rank)
    }

    /// True once a host has authenticated.
    public var isEstablished: Bool { session != nil }

    /// Handles bytes from the port.
    public mutating func receive(_ bytes: UnsafeRawBufferPointer, now: NIODeadline) -> [Event] {
        input.writeBytes(bytes)
        var events: [Event] = []
        while true {
            let frame: Frame?
            do {
                frame = try parser.parse(&input)
            } catch {
                reset()
                events.append(.failed("bad frame from the host: \(error)"))
                break
            }
            guard let frame else { break }
            events += handle(frame, now: now)
        }
        input.discardReadBytes()
        return events
    }

    /// Bytes to send `message`, sealed; `nil` while no host is authenticated.
    public mutating func send(_ message: GuestMessage) -> [UInt8]? {
        guard var session else { return nil }
        let wire = translator.wireMessage(for: message)
        guard let sealed = try? session.seal(MessageCodec.frame(wire)) else { return nil }
        self.session = session
        var out = ByteBuffer()
        sealed.write(to: &out)
        return Array(out.readableBytesView)
    }

    /// Forgets the session and any partial input (the host went away).
    public mutating func reset() {
        input.clear()
        session = nil
        handshake = Self.freshHandshake(credentials, crypto)
        translator = GuestWireTranslator(rank: credentials.rank)
    }

    private mutating func handle(_ frame: Frame, now: NIODeadline) -> [Event] {
        var events: [Event] = []
        if !frame.isSealed, frame.kind == .hello {
            if session != nil || ![.idle, .awaitingHello].contains(handshake.phase) {
                reset()  // a new host: start over with its hello
                events.append(.reset)
            }
            if let renewed = onNewHost?() {
                credentials = renewed
                handshake = Self.freshHandshake(renewed, crypto)
                translator = GuestWireTranslator(rank: renewed.rank)
            }
        }
        if var session {
            do {
                let opened = try session.open(frame)
                self.session = session
                return events + [.message(try translator.guestMessage(from: MessageCodec.message(from: opened)))]
            } catch {
                reset()
                return events + [.failed("dropping the host's session: \(error)")]
            }
        }
        let message: Message
        do {
            message = try MessageCodec.message(from: frame)
        } catch {
            reset()
            return events + [.failed("bad handshake message from the host: \(error)")]
        }
        if handshake.phase == .idle { _ = handshake.start(now: now) }
        for action in handshake.receive(message) {
            switch action {
            case .send(let reply):
                var out = ByteBuffer()
                MessageCodec.frame(reply).write(to: &out)
                events.append(.send(Array(out.readableBytesView)))
            case .establish(let established):
                session = established
                events.append(.established)
            case .fail(let error):
                handshake = Self.freshHandshake(credentials, crypto)
                events.append(.failed("handshake with the host failed: \(error)"))
            }
        }
        return events
    }

    private static func freshHandshake(_ credentials: GuestCredentials, _ crypto: any WireCryptography) -> Handshake {
        Handshake(configuration: Handshake.Configuration(
            role: .responder, jobID: credentials.jobID, secret: credentials.secret, identity: credentials.guestIdentity,
            expectedPeer: credentials.hostIdentity, crypto: crypto))
    }
}
