import NIOCore

/// Splits a byte stream into ``Frame``s. Pure: no channel, no allocation (payloads are slices of the input).
///
/// Every header field is validated as soon as its bytes are readable, so bad magic, an unsupported version,
/// an unknown kind, unknown flags or an oversized length fail at once, before any payload is buffered.
public struct FrameParser: Sendable {
    public var limits: FrameLimits

    public init(limits: FrameLimits = FrameLimits()) {
        self.limits = limits
    }

    /// Reads one complete frame from the front of `buffer`, or returns `nil` (consuming nothing) if more bytes
    /// are needed.
    /// - Throws: ``WireError`` if the bytes can never form a valid frame.
    public func parse(_ buffer: inout ByteBuffer) throws(WireError) -> Frame? {
        guard let header = try peekHeader(buffer) else { return nil }
        let frameLength = header.frameLength
        guard buffer.readableBytes >= frameLength else { return nil }

        let start = buffer.readerIndex
        let payload = buffer.getSlice(at: start + FrameHeader.byteCount, length: Int(header.length))!
        var mac: FrameMAC?
        if header.flags.contains(.sealed) {
            let macStart = start + FrameHeader.byteCount + Int(header.length)
            mac = FrameMAC(
                high: buffer.getInteger(at: macStart, as: UInt64.self)!,
                low: buffer.getInteger(at: macStart + 8, as: UInt64.self)!
            )
        }
        buffer.moveReaderIndex(forwardBy: frameLength)
        return Frame(header: header, payload: payload, mac: mac)
    }

    /// Validates whatever header bytes are readable; returns the header once all 20 bytes are.
    func peekHeader(_ buffer: ByteBuffer) throws(WireError) -> FrameHeader? {
        let start = buffer.readerIndex
        let readable = buffer.readableBytes

        guard readable >= 4 else { return nil }
        let magic = buffer.getInteger(at: start, as: UInt32.self)!
        guard magic == FrameHeader.magic else { throw .badMagic(magic) }

        guard readable >= 5 else { return nil }
        let version = ProtocolVersion(rawValue: buffer.getInteger(at: start + 4, as: UInt8.self)!)
        guard version.isSupported else { throw .unsupportedVersion(version.rawValue) }

        guard readable >= 6 else { return nil }
        let kindByte = buffer.getInteger(at: start + 5, as: UInt8.self)!
        guard let kind = MessageKind(rawValue: kindByte) else { throw .unknownKind(kindByte) }

        guard readable >= 8 else { return nil }
        let flags = FrameFlags(rawValue: buffer.getInteger(at: start + 6, as: UInt16.self)!)
        guard FrameFlags.known.isSuperset(of: flags) else { throw .unknownFlags(flags.rawValue) }

        guard readable >= 12 else { return nil }
        let length = buffer.getInteger(at: start + 8, as: UInt32.self)!
        guard Int(length) <= limits.maxPayloadLength else {
            throw .frameTooLarge(length: Int(length), limit: limits.maxPayloadLength)
        }

        guard readable >= FrameHeader.byteCount else { return nil }
        let sequence = buffer.getInteger(at: start + 12, as: UInt64.self)!
        return FrameHeader(version: version, kind: kind, flags: flags, length: length, sequence: sequence)
    }
}
