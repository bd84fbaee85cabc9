import NIOCore

/// One routing-table entry: to reach `destination`, forward to neighbour `nextHop`.
public struct Route: Hashable, Sendable {
    public var destination: UInt32
    public var nextHop: UInt32
    public var hops: UInt16

    public init(destination: UInt32, nextHop: UInt32, hops: UInt16) {
        self.destination = destination
        self.nextHop = nextHop
        self.hops = hops
    }

    static let byteCount = 10

    func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(destination)
        buffer.writeInteger(nextHop)
        buffer.writeInteger(hops)
    }

    init(reading reader: inout PayloadReader) throws(WireError) {
        destination = try reader.integer("destination")
        nextHop = try reader.integer("next hop")
        hops = try reader.integer("hops")
    }
}
