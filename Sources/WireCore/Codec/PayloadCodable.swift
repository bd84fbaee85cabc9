import NIOCore

/// A message body with a fixed ``MessageKind`` and a hand-written binary encoding.
protocol PayloadCodable {
    static var kind: MessageKind { get }
    /// Appends the body's fields to `buffer`.
    func encode(into buffer: inout ByteBuffer)
    /// Reads the body's fields; the caller checks nothing is left over.
    init(reading reader: inout PayloadReader) throws(WireError)
}

extension PayloadCodable {
    /// Decodes a whole payload, rejecting trailing bytes.
    static func decode(_ payload: ByteBuffer) throws(WireError) -> Self {
        var reader = PayloadReader(payload, kind: kind)
        let value = try Self(reading: &reader)
        try reader.finish()
        return value
    }
}
