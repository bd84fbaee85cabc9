import NIOCore

/// Reads the fields of one message payload, turning every shortfall into a typed ``WireError``.
///
/// Variable-length fields (strings, byte runs, arrays) are bounded by the bytes actually present, so a
/// hostile length or count can never cause an allocation larger than the payload itself. The one binary
/// payload codec of vhpc: Wire's own messages, the control payloads agents exchange inside `agentControl`
/// (Control's `ControlPayload`) and the guest channel's messages (GuestProtocol's `GuestMessageBody`) all
/// read with it and write with the `writeWire…` helpers on `ByteBuffer`.
public struct PayloadReader {
    public private(set) var buffer: ByteBuffer
    public let kind: MessageKind

    public init(_ buffer: ByteBuffer, kind: MessageKind) {
        self.buffer = buffer
        self.kind = kind
    }

    public func malformed(_ reason: String) -> WireError {
        .malformedMessage(kind, reason: reason)
    }

    public mutating func integer<Value: FixedWidthInteger>(_ field: StaticString, as: Value.Type = Value.self) throws(WireError) -> Value {
        guard let value = buffer.readInteger(as: Value.self) else {
            throw malformed("truncated at \(field)")
        }
        return value
    }

    public mutating func bool(_ field: StaticString) throws(WireError) -> Bool {
        switch try integer(field, as: UInt8.self) {
        case 0: return false
        case 1: return true
        case let other: throw malformed("\(field) is \(other), expected 0 or 1")
        }
    }

    public mutating func enumeration<Value: RawRepresentable>(_ field: StaticString, as: Value.Type = Value.self) throws(WireError) -> Value
    where Value.RawValue: FixedWidthInteger {
        let raw = try integer(field, as: Value.RawValue.self)
        guard let value = Value(rawValue: raw) else { throw malformed("unknown \(field) \(raw)") }
        return value
    }

    /// A u32 length followed by that many bytes of UTF-8.
    public mutating func string(_ field: StaticString) throws(WireError) -> String {
        let length = try self.length(field, elementSize: 1)
        do {
            guard let string = try buffer.readUTF8ValidatedString(length: length) else {
                throw malformed("truncated at \(field)")
            }
            return string
        } catch let error as WireError {
            throw error
        } catch {
            throw malformed("\(field) is not valid UTF-8")
        }
    }

    /// Everything not read yet, as a slice sharing the payload's storage; the reader is then finished.
    public mutating func remainder() -> ByteBuffer {
        buffer.readSlice(length: buffer.readableBytes)!
    }

    /// `count` raw bytes.
    public mutating func bytes(_ field: StaticString, count: Int) throws(WireError) -> [UInt8] {
        guard let bytes = buffer.readBytes(length: count) else { throw malformed("truncated at \(field)") }
        return bytes
    }

    /// A u32 length followed by that many bytes, as a slice sharing the payload's storage (no copy).
    public mutating func slice(_ field: StaticString) throws(WireError) -> ByteBuffer {
        let length = try self.length(field, elementSize: 1)
        return buffer.readSlice(length: length)!
    }

    /// A u32 length followed by that many bytes, copied out.
    public mutating func byteArray(_ field: StaticString) throws(WireError) -> [UInt8] {
        let length = try self.length(field, elementSize: 1)
        return buffer.readBytes(length: length)!
    }

    /// Whether every byte was read.
    public var isAtEnd: Bool { buffer.readableBytes == 0 }

    /// A u32 element count, checked against the bytes left given each element takes at least `elementSize`.
    public mutating func count(_ field: StaticString, elementSize: Int) throws(WireError) -> Int {
        try length(field, elementSize: elementSize)
    }

    private mutating func length(_ field: StaticString, elementSize: Int) throws(WireError) -> Int {
        let raw = Int(try integer(field, as: UInt32.self))
        guard raw <= buffer.readableBytes / max(1, elementSize) else {
            throw malformed("\(field) of \(raw) exceeds the \(buffer.readableBytes) bytes left")
        }
        return raw
    }

    /// Succeeds only if the whole payload was consumed.
    public func finish() throws(WireError) {
        guard buffer.readableBytes == 0 else {
            throw malformed("\(buffer.readableBytes) trailing bytes")
        }
    }
}
