import NIOCore

/// The authenticated state of one connection after a successful handshake: a key and a sequence counter per
/// direction. Pure value; the ``SessionHandler`` applies it to every frame.
///
/// ``seal(_:)`` stamps an outgoing frame with the next sequence number and its MAC; ``open(_:)`` accepts an
/// incoming frame only if its MAC verifies and its sequence number is exactly the next one expected, so a
/// replayed, dropped, reordered, reflected or altered frame is rejected.
///
/// The MAC is HMAC-SHA256 truncated to 128 bits (RFC 4868's HMAC-SHA-256-128). A forger's chance per attempt
/// is 2⁻¹²⁸, and an attempt costs the attacker the connection: the first bad MAC closes it and a new
/// connection means a new handshake and new keys. Truncation saves 16 bytes per frame, a third of a ping.
public struct Session: Sendable {
    /// The protocol version negotiated in the handshake; every session frame carries it.
    public let version: ProtocolVersion
    /// The authenticated identity of the other side.
    public let peer: PeerIdentity
    /// Sequence number the next sealed frame gets.
    public private(set) var nextOutboundSequence: UInt64 = 0
    /// Sequence number the next opened frame must have.
    public private(set) var nextInboundSequence: UInt64 = 0
    private var outboundExhausted = false
    private var inboundExhausted = false

    private let outbound: FrameAuthenticator
    private let inbound: FrameAuthenticator

    /// A session keyed explicitly; ``Handshake`` derives the keys for you.
    public init(sendingKey: any FrameMACKey, receivingKey: any FrameMACKey, version: ProtocolVersion, peer: PeerIdentity) {
        self.init(
            outbound: FrameAuthenticator(key: sendingKey),
            inbound: FrameAuthenticator(key: receivingKey),
            version: version,
            peer: peer
        )
    }

    init(outbound: FrameAuthenticator, inbound: FrameAuthenticator, version: ProtocolVersion, peer: PeerIdentity) {
        self.version = version
        self.peer = peer
        self.outbound = outbound
        self.inbound = inbound
    }

    /// Returns `frame` with this session's version, the next sequence number, the sealed flag and its MAC.
    public mutating func seal(_ frame: Frame) throws(WireError) -> Frame {
        guard !outboundExhausted else { throw .sequenceExhausted }
        var header = frame.header
        header.version = version
        header.flags.insert(.sealed)
        header.length = UInt32(truncatingIfNeeded: frame.payload.readableBytes)
        header.sequence = nextOutboundSequence
        let mac = outbound.mac(header: header, payload: frame.payload)
        (nextOutboundSequence, outboundExhausted) = nextOutboundSequence.addingReportingOverflow(1)
        return Frame(header: header, payload: frame.payload, mac: mac)
    }

    /// Verifies an incoming frame and advances the inbound sequence number.
    /// - Throws: ``WireError/missingMAC(_:)``, ``WireError/badMAC(sequence:)``,
    ///   ``WireError/sequenceMismatch(expected:received:)`` or ``WireError/versionMismatch(expected:received:)``.
    public mutating func open(_ frame: Frame) throws(WireError) -> Frame {
        guard let received = frame.mac, frame.isSealed else { throw .missingMAC(frame.kind) }
        guard !inboundExhausted else { throw .sequenceExhausted }
        let expected = inbound.mac(header: frame.header, payload: frame.payload)
        guard expected.constantTimeEquals(received) else { throw .badMAC(sequence: frame.header.sequence) }
        guard frame.header.sequence == nextInboundSequence else {
            throw .sequenceMismatch(expected: nextInboundSequence, received: frame.header.sequence)
        }
        guard frame.header.version == version else {
            throw .versionMismatch(expected: version.rawValue, received: frame.header.version.rawValue)
        }
        (nextInboundSequence, inboundExhausted) = nextInboundSequence.addingReportingOverflow(1)
        return frame
    }
}
