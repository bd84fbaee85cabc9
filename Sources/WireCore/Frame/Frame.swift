import NIOCore

/// One unit on the wire: a ``FrameHeader``, the payload bytes and, when sealed, a ``FrameMAC``.
///
/// The payload is a `ByteBuffer` slice of whatever was read from the socket: decoding a frame copies nothing.
public struct Frame: Hashable, Sendable {
    public var header: FrameHeader
    public var payload: ByteBuffer
    public var mac: FrameMAC?

    /// A frame whose header fields agree with `payload` and `mac`.
    public init(
        kind: MessageKind,
        payload: ByteBuffer,
        version: ProtocolVersion = .current,
        sequence: UInt64 = 0,
        mac: FrameMAC? = nil
    ) {
        self.header = FrameHeader(
            version: version,
            kind: kind,
            flags: mac == nil ? [] : .sealed,
            length: UInt32(truncatingIfNeeded: payload.readableBytes),
            sequence: sequence
        )
        self.payload = payload
        self.mac = mac
    }

    /// A frame exactly as parsed; the parser guarantees the header matches payload and MAC.
    init(header: FrameHeader, payload: ByteBuffer, mac: FrameMAC?) {
        self.header = header
        self.payload = payload
        self.mac = mac
    }

    public var kind: MessageKind { header.kind }
    public var isSealed: Bool { header.flags.contains(.sealed) }

    /// Writes the frame to `buffer`: header, payload, then the MAC if sealed.
    public func write(to buffer: inout ByteBuffer) {
        var header = self.header
        header.length = UInt32(truncatingIfNeeded: payload.readableBytes)
        header.flags = mac == nil ? header.flags.subtracting(.sealed) : header.flags.union(.sealed)
        buffer.reserveCapacity(minimumWritableBytes: header.frameLength)
        header.write(to: &buffer)
        buffer.writeImmutableBuffer(payload)
        if let mac {
            buffer.writeInteger(mac.high)
            buffer.writeInteger(mac.low)
        }
    }
}
