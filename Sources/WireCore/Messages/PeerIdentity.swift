import NIOCore

/// Who an agent claims to be: its role, the rank (node) it runs on, and for tool agents their index on that
/// node. Authenticated by the handshake.
public struct PeerIdentity: Hashable, Sendable, CustomStringConvertible {
    public var role: PeerRole
    /// The node's rank in the job; 0 for the controller and the front-end.
    public var rank: UInt32
    /// Tool agent number on its node; 0 for every other role.
    public var index: UInt16

    public init(rank: UInt32, role: PeerRole, index: UInt16 = 0) {
        self.rank = rank
        self.role = role
        self.index = index
    }

    public var description: String { index == 0 ? "\(role)#\(rank)" : "\(role)#\(rank).\(index)" }

    func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(role.rawValue)
        buffer.writeInteger(rank)
        buffer.writeInteger(index)
    }

    init(reading reader: inout PayloadReader) throws(WireError) {
        role = try reader.enumeration("role")
        rank = try reader.integer("rank")
        index = try reader.integer("index")
    }
}
