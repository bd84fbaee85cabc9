import NIOCore

/// New routes computed by `origin` after a topology change, and the ranks it now knows are unreachable.
public struct RouteUpdate: Hashable, Sendable {
    /// Increases with every change; a receiver ignores updates older than the last it applied.
    public var epoch: UInt64
    public var origin: UInt32
    public var routes: [Route]
    public var unreachable: [UInt32]

    public init(epoch: UInt64, origin: UInt32, routes: [Route], unreachable: [UInt32] = []) {
        self.epoch = epoch
        self.origin = origin
        self.routes = routes
        self.unreachable = unreachable
    }
}

extension RouteUpdate: PayloadCodable {
    static let kind = MessageKind.routeUpdate

    func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(epoch)
        buffer.writeInteger(origin)
        buffer.writeWireCount(routes.count)
        for route in routes { route.encode(into: &buffer) }
        buffer.writeWireCount(unreachable.count)
        for rank in unreachable { buffer.writeInteger(rank) }
    }

    init(reading reader: inout PayloadReader) throws(WireError) {
        epoch = try reader.integer("epoch")
        origin = try reader.integer("origin")
        let routeCount = try reader.count("route count", elementSize: Route.byteCount)
        routes = []
        routes.reserveCapacity(min(routeCount, 1024))
        for _ in 0..<routeCount { routes.append(try Route(reading: &reader)) }
        let unreachableCount = try reader.count("unreachable count", elementSize: 4)
        unreachable = []
        unreachable.reserveCapacity(min(unreachableCount, 1024))
        for _ in 0..<unreachableCount { unreachable.append(try reader.integer("unreachable rank")) }
    }
}
