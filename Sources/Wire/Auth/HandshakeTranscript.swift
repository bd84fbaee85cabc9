import Crypto
import Foundation
import NIOCore

/// The cryptography of one handshake, derived from the job secret and the first two messages.
///
/// - transcript = SHA-256("vhpc-wire-1 transcript" ‖ u32 len ‖ hello payload ‖ u32 len ‖ challenge payload);
///   it contains both nonces, both identities, the job id and the negotiated version.
/// - initiator proof = HMAC-SHA256(secret, "vhpc-wire-1 initiator proof" ‖ transcript), sent in ``ChallengeResponse``;
/// - responder proof = HMAC-SHA256(secret, "vhpc-wire-1 responder proof" ‖ transcript), sent in ``Welcome``;
/// - direction keys = HKDF-SHA256(ikm: secret, salt: initiator nonce ‖ responder nonce,
///   info: "vhpc-wire-1 initiator->responder" or "… responder->initiator" ‖ transcript), 32 bytes each.
///
/// Distinct labels keep a proof from being reflected as the other side's, and fresh nonces on both sides keep
/// a recorded proof from verifying in any other session.
struct HandshakeTranscript: Sendable {
    let digest: [UInt8]
    let initiatorProof: HandshakeProof
    let responderProof: HandshakeProof
    let initiatorToResponder: FrameAuthenticator
    let responderToInitiator: FrameAuthenticator

    init(secret: JobSecret, hello: Hello, challenge: Challenge) {
        var helloBytes = ByteBuffer()
        hello.encode(into: &helloBytes)
        var challengeBytes = ByteBuffer()
        challenge.encode(into: &challengeBytes)
        var transcript = ByteBuffer()
        transcript.writeString("vhpc-wire-1 transcript")
        transcript.writeWireBuffer(helloBytes)
        transcript.writeWireBuffer(challengeBytes)
        digest = transcript.withUnsafeReadableBytes { Array(SHA256.hash(data: $0)) }

        initiatorProof = Self.proof(label: "vhpc-wire-1 initiator proof", digest: digest, secret: secret)
        responderProof = Self.proof(label: "vhpc-wire-1 responder proof", digest: digest, secret: secret)

        // One HKDF extract, two expands: the same keys as two full derivations, one HMAC fewer per handshake.
        let salt = hello.nonce.bytes + challenge.nonce.bytes
        let pseudoRandomKey = HKDF<SHA256>.extract(inputKeyMaterial: secret.key, salt: salt)
        let initiatorToResponderKey = HKDF<SHA256>.expand(
            pseudoRandomKey: pseudoRandomKey,
            info: Array("vhpc-wire-1 initiator->responder".utf8) + digest,
            outputByteCount: 32
        )
        let responderToInitiatorKey = HKDF<SHA256>.expand(
            pseudoRandomKey: pseudoRandomKey,
            info: Array("vhpc-wire-1 responder->initiator".utf8) + digest,
            outputByteCount: 32
        )
        initiatorToResponder = FrameAuthenticator(key: initiatorToResponderKey)
        responderToInitiator = FrameAuthenticator(key: responderToInitiatorKey)
    }

    private static func proof(label: String, digest: [UInt8], secret: JobSecret) -> HandshakeProof {
        var hmac = HMAC<SHA256>(key: secret.key)
        hmac.update(data: Array(label.utf8))
        hmac.update(data: digest)
        return HandshakeProof(uncheckedBytes: Array(hmac.finalize()))
    }

    /// The session of the side playing `role`.
    func session(role: Handshake.Role, version: ProtocolVersion, peer: PeerIdentity) -> Session {
        switch role {
        case .initiator:
            return Session(outbound: initiatorToResponder, inbound: responderToInitiator, version: version, peer: peer)
        case .responder:
            return Session(outbound: responderToInitiator, inbound: initiatorToResponder, version: version, peer: peer)
        }
    }
}
