import NIOCore

/// Which agents a command is for: every agent that receives it, or the one of a given rank.
public enum CommandTarget: Hashable, Sendable {
    case all
    case rank(UInt32)

    func encode(into buffer: inout ByteBuffer) {
        switch self {
        case .all:
            buffer.writeInteger(UInt8(0))
            buffer.writeInteger(UInt32(0))
        case .rank(let rank):
            buffer.writeInteger(UInt8(1))
            buffer.writeInteger(rank)
        }
    }

    init(reading reader: inout PayloadReader) throws(WireError) {
        let tag = try reader.integer("target", as: UInt8.self)
        let rank = try reader.integer("target rank", as: UInt32.self)
        switch tag {
        case 0 where rank == 0: self = .all
        case 1: self = .rank(rank)
        default: throw reader.malformed("bad target \(tag)/\(rank)")
        }
    }
}
