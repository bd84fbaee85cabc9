import NIOCore

/// Handshake step 2, responder → initiator: the chosen version, who I am, and my nonce.
public struct Challenge: Hashable, Sendable {
    /// The highest version both sides speak; every session frame carries it.
    public var version: ProtocolVersion
    public var sender: PeerIdentity
    public var nonce: Nonce

    public init(version: ProtocolVersion, sender: PeerIdentity, nonce: Nonce) {
        self.version = version
        self.sender = sender
        self.nonce = nonce
    }
}

extension Challenge: PayloadCodable {
    static let kind = MessageKind.challenge

    func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(version.rawValue)
        sender.encode(into: &buffer)
        nonce.encode(into: &buffer)
    }

    init(reading reader: inout PayloadReader) throws(WireError) {
        version = ProtocolVersion(rawValue: try reader.integer("version"))
        sender = try PeerIdentity(reading: &reader)
        nonce = try Nonce(reading: &reader, field: "nonce")
    }
}
