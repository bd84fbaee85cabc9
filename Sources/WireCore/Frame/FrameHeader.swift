import NIOCore

/// The fixed 20-byte header that starts every frame.
///
/// Frame layout (all integers big-endian):
///
/// ```
///  offset  size  field
///  ------  ----  -----------------------------------------------------------------------
///       0     4  magic     0x76 0x48 0x50 0x43 ("vHPC")
///       4     1  version   ProtocolVersion (1)
///       5     1  kind      MessageKind
///       6     2  flags     FrameFlags; bit 0 = sealed, all other bits must be 0
///       8     4  length    payload length n in bytes, at most FrameLimits.maxPayloadLength
///      12     8  sequence  per-direction frame number of the session, from 0; 0 in the handshake
///      20     n  payload   the message body, encoded by MessageCodec for `kind`
///    20+n    16  mac       only if sealed: HMAC-SHA256(direction key, bytes 0..<20+n), first 16 bytes
/// ```
///
/// The MAC covers the header (so kind, flags, length and sequence cannot be altered) and the payload (for file
/// chunks the payload up to the data, which the authenticated chunk checksum binds; see `FileChunk`).
/// Each direction of a session has its own key and its own sequence counter, so a frame cannot be reflected
/// back to its sender, replayed, dropped or reordered without the receiver noticing.
public struct FrameHeader: Hashable, Sendable {
    /// Size of the header on the wire.
    public static let byteCount = 20
    /// "vHPC".
    public static let magic: UInt32 = 0x7648_5043

    public var version: ProtocolVersion
    public var kind: MessageKind
    public var flags: FrameFlags
    /// Payload length in bytes.
    public var length: UInt32
    public var sequence: UInt64

    public init(
        version: ProtocolVersion = .current,
        kind: MessageKind,
        flags: FrameFlags = [],
        length: UInt32,
        sequence: UInt64 = 0
    ) {
        self.version = version
        self.kind = kind
        self.flags = flags
        self.length = length
        self.sequence = sequence
    }

    /// Bytes of the whole frame on the wire, MAC included.
    public var frameLength: Int {
        Self.byteCount + Int(length) + (flags.contains(.sealed) ? FrameMAC.byteCount : 0)
    }

    /// Writes the 20 header bytes.
    public func write(to buffer: inout ByteBuffer) {
        buffer.writeInteger(Self.magic)
        buffer.writeInteger(version.rawValue)
        buffer.writeInteger(kind.rawValue)
        buffer.writeInteger(flags.rawValue)
        buffer.writeInteger(length)
        buffer.writeInteger(sequence)
    }

    /// Calls `body` with the 20 header bytes, without touching the heap.
    func withBytes<Result>(_ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        withUnsafeTemporaryAllocation(byteCount: Self.byteCount, alignment: 8) { raw in
            raw.storeBytes(of: Self.magic.bigEndian, toByteOffset: 0, as: UInt32.self)
            raw.storeBytes(of: version.rawValue, toByteOffset: 4, as: UInt8.self)
            raw.storeBytes(of: kind.rawValue, toByteOffset: 5, as: UInt8.self)
            raw.storeBytes(of: flags.rawValue.bigEndian, toByteOffset: 6, as: UInt16.self)
            raw.storeBytes(of: length.bigEndian, toByteOffset: 8, as: UInt32.self)
            raw.storeBytes(of: sequence.bigEndian, toByteOffset: 12, as: UInt64.self)
            return body(UnsafeRawBufferPointer(raw))
        }
    }
}
