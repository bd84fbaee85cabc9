/// The 16-byte authentication tag that trails a sealed frame:
/// HMAC-SHA256 truncated to its first 128 bits (as in RFC 4868's HMAC-SHA-256-128).
///
/// Stored as two integers so a frame carries no extra heap allocation.
public struct FrameMAC: Hashable, Sendable {
    /// Size on the wire.
    public static let byteCount = 16

    /// Bytes 0..<8 of the tag, big-endian.
    public var high: UInt64
    /// Bytes 8..<16 of the tag, big-endian.
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// Takes the first 16 bytes of `bytes` (which must hold at least 16).
    public init(prefixOf bytes: UnsafeRawBufferPointer) {
        precondition(bytes.count >= Self.byteCount)
        var high: UInt64 = 0
        var low: UInt64 = 0
        for index in 0..<8 {
            high = high << 8 | UInt64(bytes[index])
            low = low << 8 | UInt64(bytes[index + 8])
        }
        self.init(high: high, low: low)
    }

    /// Compares in time independent of where the tags differ.
    func constantTimeEquals(_ other: FrameMAC) -> Bool {
        ((high ^ other.high) | (low ^ other.low)) == 0
    }
}
