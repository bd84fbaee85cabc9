/// One key-value pair of a job's PMI key-value space: an MPI library's business card put over PMI-1 (UTF-8
/// text), or a chunk of a node's PMIx fence contribution (opaque bytes, see NodeAgent's `PMIxFenceRelay`).
public struct PMIEntry: Codable, Sendable, Hashable {
    public var key: String
    /// The value's bytes.
    public var bytes: [UInt8]

    /// The value as text (PMI-1 values are UTF-8).
    public var value: String { String(decoding: bytes, as: UTF8.self) }

    public init(key: String, value: String) {
        self.key = key
        self.bytes = Array(value.utf8)
    }

    public init(key: String, bytes: [UInt8]) {
        self.key = key
        self.bytes = bytes
    }

    /// Bytes this entry takes in a control frame (two length prefixes, key, value).
    public var encodedSize: Int { 8 + key.utf8.count + bytes.count }
}
