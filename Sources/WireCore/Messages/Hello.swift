import NIOCore

/// Handshake step 1, initiator → responder: who I am, which job, which versions, and my nonce.
public struct Hello: Hashable, Sendable {
    /// Lowest protocol version the initiator speaks.
    public var minimumVersion: ProtocolVersion
    /// Highest protocol version the initiator speaks.
    public var maximumVersion: ProtocolVersion
    public var jobID: String
    public var sender: PeerIdentity
    public var nonce: Nonce

    public init(
        minimumVersion: ProtocolVersion = ProtocolVersion.supported.lowerBound,
        maximumVersion: ProtocolVersion = ProtocolVersion.supported.upperBound,
        jobID: String,
        sender: PeerIdentity,
        nonce: Nonce
    ) {
        self.minimumVersion = minimumVersion
        self.maximumVersion = maximumVersion
        self.jobID = jobID
        self.sender = sender
        self.nonce = nonce
    }
}

extension Hello: PayloadCodable {
    static let kind = MessageKind.hello

    func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(minimumVersion.rawValue)
        buffer.writeInteger(maximumVersion.rawValue)
        buffer.writeWireString(jobID)
        sender.encode(into: &buffer)
        nonce.encode(into: &buffer)
    }

    init(reading reader: inout PayloadReader) throws(WireError) {
        minimumVersion = ProtocolVersion(rawValue: try reader.integer("minimum version"))
        maximumVersion = ProtocolVersion(rawValue: try reader.integer("maximum version"))
        guard minimumVersion <= maximumVersion else { throw reader.malformed("empty version range") }
        jobID = try reader.string("job id")
        sender = try PeerIdentity(reading: &reader)
        nonce = try Nonce(reading: &reader, field: "nonce")
    }
}
