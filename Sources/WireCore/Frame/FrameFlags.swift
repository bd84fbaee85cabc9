/// The 16-bit flags field of a frame header. Bits not defined here must be zero.
public struct FrameFlags: OptionSet, Hashable, Sendable {
    public var rawValue: UInt16

    public init(rawValue: UInt16) {
        self.rawValue = rawValue
    }

    /// The frame belongs to an established session: a ``FrameMAC`` trailer follows the payload.
    public static let sealed = FrameFlags(rawValue: 1 << 0)

    /// Every flag this version understands.
    public static let known: FrameFlags = [.sealed]
}
