import NIOCore

/// Tells the peer something failed: a command (by `reference`), or the connection itself, in which case
/// the sender closes it right after.
public struct ErrorMessage: Hashable, Sendable {
    public var code: ErrorCode
    /// The id of the command or transfer that failed; 0 if none.
    public var reference: UInt64
    public var message: String

    public init(code: ErrorCode, reference: UInt64 = 0, message: String) {
        self.code = code
        self.reference = reference
        self.message = message
    }
}

extension ErrorMessage: PayloadCodable {
    static let kind = MessageKind.error

    func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(code.rawValue)
        buffer.writeInteger(reference)
        buffer.writeWireString(message)
    }

    init(reading reader: inout PayloadReader) throws(WireError) {
        code = ErrorCode(rawValue: try reader.integer("code"))
        reference = try reader.integer("reference")
        message = try reader.string("message")
    }
}
