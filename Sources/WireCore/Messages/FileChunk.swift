import NIOCore

/// A piece of a staged file (such as a VM image) at `offset`, with its checksum for end-to-end integrity: the
/// SHA-256 chaining value after the chunk, or for the last chunk the file's SHA-256 (see `ChunkChain`, module
/// Wire).
///
/// A session's frame MAC covers a chunk's fields and checksum but not its data (see
/// ``authenticatedPrefixLength``): receivers must check the checksum before using the data.
public struct FileChunk: Hashable, Sendable {
    /// Payload bytes the frame MAC covers: transfer id, offset, total length, checksum, data length.
    public static let authenticatedPrefixLength = 8 + 8 + 8 + ChunkChecksum.byteCount + 4

    public var transferID: UInt64
    /// Where `data` starts in the file.
    public var offset: UInt64
    /// Size of the whole file; `offset + data.readableBytes` never exceeds it.
    public var totalLength: UInt64
    public var checksum: ChunkChecksum
    /// On decode, a slice of the received frame (no copy).
    public var data: ByteBuffer

    public init(transferID: UInt64, offset: UInt64, totalLength: UInt64, checksum: ChunkChecksum, data: ByteBuffer) {
        self.transferID = transferID
        self.offset = offset
        self.totalLength = totalLength
        self.checksum = checksum
        self.data = data
    }

    /// This chunk ends the file.
    public var isLast: Bool { offset &+ UInt64(data.readableBytes) == totalLength }
}

extension FileChunk: PayloadCodable {
    static let kind = MessageKind.fileChunk

    func encode(into buffer: inout ByteBuffer) {
        buffer.reserveCapacity(minimumWritableBytes: Self.authenticatedPrefixLength + data.readableBytes)
        buffer.writeInteger(transferID)
        buffer.writeInteger(offset)
        buffer.writeInteger(totalLength)
        checksum.encode(into: &buffer)
        buffer.writeWireBuffer(data)
    }

    init(reading reader: inout PayloadReader) throws(WireError) {
        transferID = try reader.integer("transfer id")
        offset = try reader.integer("offset")
        totalLength = try reader.integer("total length")
        checksum = try ChunkChecksum(reading: &reader, field: "checksum")
        data = try reader.slice("data")
        let (end, overflow) = offset.addingReportingOverflow(UInt64(data.readableBytes))
        guard !overflow, end <= totalLength else {
            throw reader.malformed("chunk \(offset)+\(data.readableBytes) lies beyond the file's \(totalLength) bytes")
        }
    }
}
