/// A file chunk's checksum: end-to-end integrity as the chunk is forwarded hop by hop down a tree (each hop's
/// MAC only protects that link). Staging uses SHA-256 chaining values (`ChunkChain`, module Wire); a chunk
/// that is a whole file on its own carries its SHA-256.
public struct ChunkChecksum: FixedBytes, Hashable, Sendable {
    public static let byteCount = 32
    public let bytes: [UInt8]

    package init(uncheckedBytes: [UInt8]) {
        self.bytes = uncheckedBytes
    }

    /// `nil` unless `bytes` has exactly 32 elements.
    public init?(bytes: some Collection<UInt8>) {
        guard let checksum = Self.validated(bytes) else { return nil }
        self = checksum
    }

    /// A checksum of all zero bytes, for senders that verify integrity some other way.
    public static let none = ChunkChecksum(uncheckedBytes: Array(repeating: 0, count: byteCount))

    public var hex: String { hexString }
}
