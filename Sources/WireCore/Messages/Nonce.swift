/// 32 fresh random bytes that one side contributes to a handshake.
///
/// Both sides contribute one, and both proofs and the session keys depend on both, so a recorded handshake
/// cannot be replayed into a new session.
public struct Nonce: FixedBytes, Hashable, Sendable {
    public static let byteCount = 32
    public let bytes: [UInt8]

    init(uncheckedBytes: [UInt8]) {
        self.bytes = uncheckedBytes
    }

    /// `nil` unless `bytes` has exactly 32 elements.
    public init?(bytes: some Collection<UInt8>) {
        guard let nonce = Self.validated(bytes) else { return nil }
        self = nonce
    }

    /// 32 bytes from the system's cryptographically secure generator.
    public static func random() -> Nonce {
        Nonce(uncheckedBytes: systemRandomBytes(byteCount))
    }
}
