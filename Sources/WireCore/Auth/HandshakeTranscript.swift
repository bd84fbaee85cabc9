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

    init(secret: JobSecret, hello: Hello, challenge: Challenge, crypto: any WireCryptography) {
        var helloBytes = ByteBuffer()
        hello.encode(into: &helloBytes)
        var challengeBytes = ByteBuffer()
        challenge.encode(into: &challengeBytes)
        var transcript = ByteBuffer()
        transcript.writeString("vhpc-wire-1 transcript")
        transcript.writeWireBuffer(helloBytes)
        transcript.writeWireBuffer(challengeBytes)
        digest = transcript.withUnsafeReadableBytes { crypto.sha256($0) }

        initiatorProof = HandshakeProof(uncheckedBytes: crypto.hmacSHA256(
            key: secret.bytes, data: Array("vhpc-wire-1 initiator proof".utf8) + digest))
        responderProof = HandshakeProof(uncheckedBytes: crypto.hmacSHA256(
            key: secret.bytes, data: Array("vhpc-wire-1 responder proof".utf8) + digest))

        // One HKDF extract, two expands: the same keys as two full derivations, one HMAC fewer per handshake.
        let keys = crypto.hkdfSHA256(
            inputKeyMaterial: secret.bytes, salt: hello.nonce.bytes + challenge.nonce.bytes,
            infos: [Array("vhpc-wire-1 initiator->responder".utf8) + digest,
                    Array("vhpc-wire-1 responder->initiator".utf8) + digest],
            outputByteCount: 32)
        initiatorToResponder = FrameAuthenticator(key: crypto.frameMACKey(keys[0]))
        responderToInitiator = FrameAuthenticator(key: crypto.frameMACKey(keys[1]))
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
