import NIOCore

/// Bytes of a task's standard stream, numbered so the front-end can order them and spot gaps.
public struct IOData: Hashable, Sendable {
    /// The ``LaunchCommand/id`` that started the task.
    public var launchID: UInt64
    public var rank: UInt32
    /// Index of the task on its rank.
    public var task: UInt32
    public var stream: IOStream
    /// Counts the messages of this (launch, rank, task, stream), from 0.
    public var sequence: UInt64
    /// The stream ended after `data`.
    public var isEndOfStream: Bool
    /// On decode, a slice of the received frame (no copy).
    public var data: ByteBuffer

    public init(
        launchID: UInt64,
        rank: UInt32,
        task: UInt32 = 0,
        stream: IOStream,
        sequence: UInt64,
        isEndOfStream: Bool = false,
        data: ByteBuffer
    ) {
        self.launchID = launchID
        self.rank = rank
        self.task = task
        self.stream = stream
        self.sequence = sequence
        self.isEndOfStream = isEndOfStream
        self.data = data
    }
}

extension IOData: PayloadCodable {
    static let kind = MessageKind.ioData

    func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(launchID)
        buffer.writeInteger(rank)
        buffer.writeInteger(task)
        buffer.writeInteger(stream.rawValue)
        buffer.writeInteger(sequence)
        buffer.writeWireBool(isEndOfStream)
        buffer.writeWireBuffer(data)
    }

    init(reading reader: inout PayloadReader) throws(WireError) {
        launchID = try reader.integer("launch id")
        rank = try reader.integer("rank")
        task = try reader.integer("task")
        stream = try reader.enumeration("stream")
        sequence = try reader.integer("sequence")
        isEndOfStream = try reader.bool("end of stream")
        data = try reader.slice("data")
    }
}
