/// The version of the vhpc wire protocol carried in every frame header.
///
/// A peer announces the range it speaks in ``Hello``; the responder picks the highest common version in
/// ``Challenge``, and every frame of the session then carries that version.
public struct ProtocolVersion: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8

    public init(rawValue: UInt8) {
        self.rawValue = rawValue
    }

    /// Version 1: the frame layout documented on ``FrameHeader``.
    public static let v1 = ProtocolVersion(rawValue: 1)

    /// The version this build sends by default.
    public static let current = ProtocolVersion.v1

    /// Every version this build can decode.
    public static let supported: ClosedRange<ProtocolVersion> = .v1 ... .v1

    public var isSupported: Bool { Self.supported.contains(self) }

    public static func < (lhs: ProtocolVersion, rhs: ProtocolVersion) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { "v\(rawValue)" }
}
