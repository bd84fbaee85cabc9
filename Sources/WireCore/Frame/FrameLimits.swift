/// Size limits enforced while parsing frames and messages.
///
/// A length field is checked against these limits as soon as the header is readable, so a peer can never
/// make the decoder buffer (or allocate) more than ``maxFrameLength`` bytes for one frame.
public struct FrameLimits: Hashable, Sendable {
    /// Upper bound for ``maxPayloadLength`` whatever the configuration (16 MiB).
    public static let absoluteMaxPayloadLength = 16 << 20

    /// Largest accepted payload, in bytes. The default (2 MiB) fits a 1 MiB file chunk with room to spare.
    public var maxPayloadLength: Int {
        didSet { maxPayloadLength = min(max(0, maxPayloadLength), Self.absoluteMaxPayloadLength) }
    }

    public init(maxPayloadLength: Int = 2 << 20) {
        self.maxPayloadLength = min(max(0, maxPayloadLength), Self.absoluteMaxPayloadLength)
    }

    /// Largest frame on the wire: header, payload and MAC.
    public var maxFrameLength: Int { FrameHeader.byteCount + maxPayloadLength + FrameMAC.byteCount }
}
