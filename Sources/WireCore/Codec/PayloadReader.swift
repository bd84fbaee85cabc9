import NIOCore

/// Reads the fields of one message payload, turning every shortfall into a typed ``WireError``.
///
/// Variable-length fields (strings, byte runs, arrays) are bounded by the bytes actually present, so a
/// hostile length or count can never cause an allocation larger than the payload itself. The one binary
/// payload codec of vhpc: Wire's own messages, the control payloads agents exchange inside `agentControl`
/// (Control's `ControlPayload`) and the guest channel's messages (GuestProtocol's `GuestMessageBody`) all
/// read with it and write with the `writeWire…` helpers on `ByteBuffer`.
public struct PayloadReader {
    /// What is left to read.
    public var buffer: ByteBuffer { storage }
    public let kind: MessageKind
    /// The reads below are inlinable, so each payload codec gets them specialised for its field types (as
    /// generic calls across modules they looked up type metadata at run time for every field: 8 % of the
    /// staging simulator's CPU, and the agents' own decoding).
    @usableFromInline var storage: ByteBuffer

    public init(_ buffer: ByteBuffer, kind: MessageKind) {
        self.storage = buffer
        self.kind = kind
    }

    public func malformed(_ reason: String) -> WireError {
        .malformedMessage(kind, reason: reason)
    }

    @inlinable
    public mutating func integer<Value: FixedWidthInteger>(_ field: StaticString, as: Value.Type = Value.self) throws(WireError) -> Value {
        guard let value = storage.readInteger(as: Value.self) else {
            throw malformed("truncated at \(field)")
        }
        return value
    }

    @inlinable
    public mutating func bool(_ field: StaticString) throws(WireError) -> Bool {
        switch try integer(field, as: UInt8.self) {
        case 0: return false
        case 1: return true
        case let other: throw malformed("\(field) is \(other), expected 0 or 1")
        }
    }

    @inlinable
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
            guard let string = try storage.readUTF8ValidatedString(length: length) else {
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
        storage.readSlice(length: storage.readableBytes)!
    }

    /// `count` raw bytes.
    public mutating func bytes(_ field: StaticString, count: Int) throws(WireError) -> [UInt8] {
        guard let bytes = storage.readBytes(length: count) else { throw malformed("truncated at \(field)") }
        return bytes
    }

    /// A u32 length followed by that many bytes, as a slice sharing the payload's storage (no copy).
    public mutating func slice(_ field: StaticString) throws(WireError) -> ByteBuffer {
        let length = try self.length(field, elementSize: 1)
        return storage.readSlice(length: length)!
    }

    /// A u32 length followed by that many bytes, copied out.
    public mutating func byteArray(_ field: StaticString) throws(WireError) -> [UInt8] {
        let length = try self.length(field, elementSize: 1)
        return storage.readBytes(length: length)!
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
