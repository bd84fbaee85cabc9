import NIOCore

/// Handshake step 3, initiator → responder: proof that the initiator holds the job secret, bound to both
/// nonces and the whole transcript so far.
public struct ChallengeResponse: Hashable, Sendable {
    public var proof: HandshakeProof

    public init(proof: HandshakeProof) {
        self.proof = proof
    }
}

extension ChallengeResponse: PayloadCodable {
    static let kind = MessageKind.response

    func encode(into buffer: inout ByteBuffer) {
        proof.encode(into: &buffer)
    }

    init(reading reader: inout PayloadReader) throws(WireError) {
        proof = try HandshakeProof(reading: &reader, field: "proof")
    }
}
