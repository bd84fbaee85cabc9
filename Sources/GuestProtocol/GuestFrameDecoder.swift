/// Incremental decoder for the guest channel: feed bytes as they arrive, pull complete messages.
///
/// Pure and allocation-bounded: a length field larger than `GuestFrame.maximumPayload` is an error
/// before anything is buffered for it.
public struct GuestFrameDecoder: Sendable {
    private var buffer: [UInt8] = []
    private var readIndex = 0

    public init() {}

    /// Number of bytes received but not yet consumed.
    public var bufferedByteCount: Int { buffer.count - readIndex }

    public mutating func append<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        buffer.append(contentsOf: bytes)
    }

    /// The next complete message, or nil if more bytes are needed.
    public mutating func next() throws(GuestFrameError) -> GuestMessage? {
        let available = buffer.count - readIndex
        guard available >= GuestFrame.headerSize else { return nil }
        let h = readIndex
        guard buffer[h] == GuestFrame.magic.0, buffer[h + 1] == GuestFrame.magic.1 else { throw .badMagic }
        guard buffer[h + 2] == GuestFrame.version else { throw .unsupportedVersion(buffer[h + 2]) }
        let kind = buffer[h + 3]
        var length = 0
        for i in 4..<8 { length = length << 8 | Int(buffer[h + i]) }
        guard length <= GuestFrame.maximumPayload else { throw .oversized(length) }
        guard available >= GuestFrame.headerSize + length else { return nil }
        let start = h + GuestFrame.headerSize
        let message = try GuestFrame.decodePayload(kind: kind, buffer[start..<start + length])
        readIndex = start + length
        compactIfNeeded()
        return message
    }

    private mutating func compactIfNeeded() {
        if readIndex == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            readIndex = 0
        } else if readIndex > 64 * 1024 && readIndex * 2 > buffer.count {
            buffer.removeFirst(readIndex)
            readIndex = 0
        }
    }
}
