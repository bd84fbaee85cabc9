import NIOCore

/// Handshake step 4, responder → initiator: the responder's own proof (mutual authentication). Once it is
/// verified both sides switch to sealed frames.
public struct Welcome: Hashable, Sendable {
    public var proof: HandshakeProof

    public init(proof: HandshakeProof) {
        self.proof = proof
    }
}

extension Welcome: PayloadCodable {
    static let kind = MessageKind.welcome

    func encode(into buffer: inout ByteBuffer) {
        proof.encode(into: &buffer)
    }

    init(reading reader: inout PayloadReader) throws(WireError) {
        proof = try HandshakeProof(reading: &reader, field: "proof")
    }
}
