import NIOCore

/// The writing half of the payload codec (``PayloadReader`` reads what these write).
extension ByteBuffer {
    /// Writes a u32 byte length followed by the string's UTF-8 bytes.
    public mutating func writeWireString(_ string: String) {
        writeInteger(UInt32(truncatingIfNeeded: string.utf8.count))
        writeString(string)
    }

    /// Writes a u32 length followed by the readable bytes of `bytes`.
    public mutating func writeWireBuffer(_ bytes: ByteBuffer) {
        writeInteger(UInt32(truncatingIfNeeded: bytes.readableBytes))
        writeImmutableBuffer(bytes)
    }

    /// Writes a u32 element count.
    public mutating func writeWireCount(_ count: Int) {
        writeInteger(UInt32(truncatingIfNeeded: count))
    }

    public mutating func writeWireBool(_ value: Bool) {
        writeInteger(value ? UInt8(1) : UInt8(0))
    }

    /// Writes a u32 length followed by `bytes`.
    public mutating func writeWireBytes(_ bytes: [UInt8]) {
        writeInteger(UInt32(truncatingIfNeeded: bytes.count))
        writeBytes(bytes)
    }
}
