import NIOCore

/// Acknowledges a message: a command by id, or a transfer or stream up to a position.
public struct Ack: Hashable, Sendable {
    /// The kind of message acknowledged.
    public var of: MessageKind
    /// Its id: a command id, a transfer id, a launch id, a route epoch.
    public var id: UInt64
    /// How far: bytes received of a transfer, last I/O sequence; 0 for commands.
    public var position: UInt64

    public init(of kind: MessageKind, id: UInt64, position: UInt64 = 0) {
        self.of = kind
        self.id = id
        self.position = position
    }
}

extension Ack: PayloadCodable {
    static let kind = MessageKind.ack

    func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(of.rawValue)
        buffer.writeInteger(id)
        buffer.writeInteger(position)
    }

    init(reading reader: inout PayloadReader) throws(WireError) {
        of = try reader.enumeration("acknowledged kind")
        id = try reader.integer("id")
        position = try reader.integer("position")
    }
}
