import Crypto
import NIOCore
import Testing
@testable import WireCore
import Wire

/// The session keys are exactly the documented HKDF-SHA256 derivations (one extract shared by both
/// directions must give what two full derivations give).
@Suite struct HandshakeTranscriptTests {
    @Test func directionKeysAreTheDocumentedHKDFDerivations() {
        let hello = Hello(jobID: Fixtures.jobID, sender: Fixtures.child, nonce: Fixtures.nonce(1))
        let challenge = Challenge(version: .v1, sender: Fixtures.parent, nonce: Fixtures.nonce(2))
        let transcript = HandshakeTranscript(secret: Fixtures.secret, hello: hello, challenge: challenge, crypto: SwiftCryptoWire())
        func documented(_ label: String) -> FrameAuthenticator {
            let key = HKDF<SHA256>.deriveKey(
                inputKeyMaterial: SymmetricKey(data: Fixtures.secret.bytes), salt: hello.nonce.bytes + challenge.nonce.bytes,
                info: Array(label.utf8) + transcript.digest, outputByteCount: 32)
            return FrameAuthenticator(key: SwiftCryptoWire().frameMACKey(key.withUnsafeBytes { Array($0) }))
        }
        let header = FrameHeader(kind: .ping, length: 5)
        let payload = ByteBuffer(bytes: [1, 2, 3, 4, 5])
        let forward = documented("vhpc-wire-1 initiator->responder").mac(header: header, payload: payload)
        let backward = documented("vhpc-wire-1 responder->initiator").mac(header: header, payload: payload)
        #expect(transcript.initiatorToResponder.mac(header: header, payload: payload) == forward)
        #expect(transcript.responderToInitiator.mac(header: header, payload: payload) == backward)
        #expect(forward != backward)
    }

    @Test func noncesAreFullLengthAndFresh() {
        let nonces = (0..<64).map { _ in Nonce.random() }
        #expect(nonces.allSatisfy { $0.bytes.count == Nonce.byteCount })
        #expect(Set(nonces).count == nonces.count)
        // Every byte position varies (a stuck tail would mean a short fill).
        for index in 0..<Nonce.byteCount { #expect(Set(nonces.map { $0.bytes[index] }).count > 1) }
    }
}
