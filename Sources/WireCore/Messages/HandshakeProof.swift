/// A full HMAC-SHA256 tag proving knowledge of the job secret over a handshake transcript.
public struct HandshakeProof: FixedBytes, Hashable, Sendable {
    public static let byteCount = 32
    public let bytes: [UInt8]

    package init(uncheckedBytes: [UInt8]) {
        self.bytes = uncheckedBytes
    }

    /// `nil` unless `bytes` has exactly 32 elements.
    public init?(bytes: some Collection<UInt8>) {
        guard let proof = Self.validated(bytes) else { return nil }
        self = proof
    }

    /// Compares in time independent of where the proofs differ.
    func constantTimeEquals(_ other: HandshakeProof) -> Bool {
        var difference: UInt8 = 0
        for (left, right) in zip(bytes, other.bytes) { difference |= left ^ right }
        return difference == 0 && bytes.count == other.bytes.count
    }
}
