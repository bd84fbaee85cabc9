import NIOCore

/// A value that is exactly ``byteCount`` raw bytes on the wire (nonces, proofs, checksums).
protocol FixedBytes {
    static var byteCount: Int { get }
    var bytes: [UInt8] { get }
    init(uncheckedBytes: [UInt8])
}

extension FixedBytes {
    /// `nil` unless `bytes` has exactly ``byteCount`` elements.
    static func validated<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> Self? {
        guard bytes.count == byteCount else { return nil }
        return Self(uncheckedBytes: Array(bytes))
    }

    init(reading reader: inout PayloadReader, field: StaticString) throws(WireError) {
        self.init(uncheckedBytes: try reader.bytes(field, count: Self.byteCount))
    }

    func encode(into buffer: inout ByteBuffer) {
        buffer.writeBytes(bytes)
    }

    var hexString: String {
        bytes.map { byte in
            let digits = String(byte, radix: 16)
            return digits.count == 1 ? "0" + digits : digits
        }.joined()
    }
}
