import NIOCore

/// ``Frame``s → bytes: header, payload and (if sealed) MAC, in one buffer.
///
/// Use as `MessageToByteHandler(FrameEncoder())`.
public struct FrameEncoder: MessageToByteEncoder, Sendable {
    public typealias OutboundIn = Frame

    public init() {}

    public func encode(data frame: Frame, out: inout ByteBuffer) throws {
        frame.write(to: &out)
    }
}
