import NIOCore

/// Cuts a task's output stream into chunks of whole lines, so forwarded output never splits a line between
/// messages (the front-end can label each line). A trailing partial line is released at end of stream, or
/// once it grows past `maximumLineLength`.
public struct LineFramer: Sendable {
    private var pending = ByteBuffer()
    public let maximumLineLength: Int

    public init(maximumLineLength: Int = 1 << 20) {
        self.maximumLineLength = maximumLineLength
    }

    /// Appends bytes; returns the complete lines accumulated so far (nil if none).
    public mutating func append(_ bytes: ByteBuffer) -> ByteBuffer? {
        var bytes = bytes
        pending.writeBuffer(&bytes)
        let view = pending.readableBytesView
        guard let lastNewline = view.lastIndex(of: UInt8(ascii: "\n")) else {
            if pending.readableBytes > maximumLineLength { return flush() }
            return nil
        }
        let length = lastNewline - view.startIndex + 1
        return pending.readSlice(length: length).map { ByteBuffer($0.readableBytesView) }
    }

    /// Whatever is left (a last line without newline), at end of stream.
    public mutating func flush() -> ByteBuffer? {
        guard pending.readableBytes > 0 else { return nil }
        let rest = pending.readSlice(length: pending.readableBytes)
        pending.clear()
        return rest.map { ByteBuffer($0.readableBytesView) }
    }
}
