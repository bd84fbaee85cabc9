import NIOCore

/// One step of a logical link between two agents, carried on a connection their processes share.
///
/// Agents hosted in one process (`--agents-per-process`) share one authenticated connection per peer process,
/// as channels share an SSH connection: a link between two agents is opened, used and closed with these
/// frames. The dialing side numbers its links; the number is unique on the connection it dialed.
///
/// Payload: link id (u32), source rank (u32), destination rank (u32), operation (u8); for `.data` the
/// carried message's kind (u8) and its payload fill the rest.
public struct LinkFrame: Hashable, Sendable {
    /// What the frame does to the link.
    public enum Operation: UInt8, Sendable {
        /// Source asks to open a link to destination.
        case open = 1
        /// Destination took the link.
        case accept = 2
        /// Destination is not (or no longer) here: the open failed.
        case refuse = 3
        /// The sender closed the link; the other side closes its end too.
        case close = 4
        /// A message on the link.
        case data = 5
    }

    public var link: UInt32
    /// The agent sending this frame.
    public var source: UInt32
    /// The agent it is for.
    public var destination: UInt32
    public var operation: Operation
    /// The message, for `.data` only.
    public var message: Message?

    public init(link: UInt32, source: UInt32, destination: UInt32, operation: Operation, message: Message? = nil) {
        precondition((operation == .data) == (message != nil), "a link frame carries a message exactly when it is .data")
        self.link = link
        self.source = source
        self.destination = destination
        self.operation = operation
        self.message = message
    }

    /// Bytes before the carried message's payload: link, source, destination, operation, carried kind.
    public static let headerLength = 4 + 4 + 4 + 1 + 1

    /// Payload bytes of a `.link` frame the frame MAC covers: all of them, except for a carried file chunk,
    /// whose data is left out as in a ``FileChunk`` frame of its own.
    static func authenticatedLength(of payload: ByteBuffer) -> Int {
        guard payload.readableBytes > headerLength,
              payload.getInteger(at: payload.readerIndex + headerLength - 2, as: UInt8.self) == Operation.data.rawValue,
              payload.getInteger(at: payload.readerIndex + headerLength - 1, as: UInt8.self) == MessageKind.fileChunk.rawValue
        else { return payload.readableBytes }
        return min(payload.readableBytes, headerLength + FileChunk.authenticatedPrefixLength)
    }
}

extension LinkFrame: PayloadCodable {
    static let kind = MessageKind.link

    func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(link)
        buffer.writeInteger(source)
        buffer.writeInteger(destination)
        buffer.writeInteger(operation.rawValue)
        if let message {
            buffer.writeInteger(message.kind.rawValue)
            MessageCodec.encode(message, into: &buffer)
        }
    }

    init(reading reader: inout PayloadReader) throws(WireError) {
        link = try reader.integer("link")
        source = try reader.integer("source")
        destination = try reader.integer("destination")
        operation = try reader.enumeration("operation")
        guard operation == .data else { return }
        let kind: MessageKind = try reader.enumeration("carried kind")
        // Only session messages travel on links: no handshake, and no link inside a link.
        guard !kind.isHandshake, kind != .link else { throw reader.malformed("a link cannot carry \(kind)") }
        do {
            message = try MessageCodec.decode(kind: kind, payload: reader.remainder())
        } catch .malformedMessage(_, let reason) {
            throw reader.malformed("carried \(kind): \(reason)")
        }
    }
}
