/// The hash primitives the wire protocol's authentication is built from (see ``HandshakeTranscript`` and
/// ``Session``). WireCore only names them; a backend supplies them: module `Wire` with swift-crypto, the
/// guest agent with OpenSSL's libcrypto (it must stay free of Foundation, which swift-crypto imports).
/// Every backend must give the same bytes for the same inputs; the tests compare them.
public protocol WireCryptography: Sendable {
    /// SHA-256 of `data`.
    func sha256(_ data: UnsafeRawBufferPointer) -> [UInt8]
    /// HMAC-SHA256(key, data), all 32 bytes.
    func hmacSHA256(key: [UInt8], data: [UInt8]) -> [UInt8]
    /// HKDF-SHA256 (RFC 5869): one extract with `salt`, then one expand per element of `infos`, each
    /// `outputByteCount` bytes long.
    func hkdfSHA256(inputKeyMaterial: [UInt8], salt: [UInt8], infos: [[UInt8]], outputByteCount: Int) -> [[UInt8]]
    /// An HMAC-SHA256 keyed with `key`, ready to authenticate frames.
    func frameMACKey(_ key: [UInt8]) -> any FrameMACKey
}

/// HMAC-SHA256 already keyed for one direction of a session; a backend may precompute the padded key.
public protocol FrameMACKey: Sendable {
    /// The first 16 bytes of HMAC-SHA256(key, header ‖ payload).
    func mac(header: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer) -> FrameMAC
}
