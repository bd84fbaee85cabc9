import NIOCore

/// The body of ``Message/ping(_:)`` and ``Message/pong(_:)``: a pong echoes the ping's fields, so the
/// sender can match it and measure the round trip from its own clock.
public struct Heartbeat: Hashable, Sendable {
    public var id: UInt64
    /// The sender's clock when the ping left, in nanoseconds; opaque to the receiver.
    public var timestamp: UInt64

    public init(id: UInt64, timestamp: UInt64) {
        self.id = id
        self.timestamp = timestamp
    }

    func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(id)
        buffer.writeInteger(timestamp)
    }

    init(reading reader: inout PayloadReader) throws(WireError) {
        id = try reader.integer("id")
        timestamp = try reader.integer("timestamp")
    }
}
