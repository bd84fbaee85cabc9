import NIOCore

/// A lifecycle command for the job's VMs or processes on the target agents.
public struct ControlCommand: Hashable, Sendable {
    /// Chosen by the sender; acks and errors refer to it.
    public var id: UInt64
    public var target: CommandTarget
    public var operation: ControlOperation

    public init(id: UInt64, target: CommandTarget = .all, operation: ControlOperation) {
        self.id = id
        self.target = target
        self.operation = operation
    }
}

extension ControlCommand: PayloadCodable {
    static let kind = MessageKind.control

    func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(id)
        target.encode(into: &buffer)
        operation.encode(into: &buffer)
    }

    init(reading reader: inout PayloadReader) throws(WireError) {
        id = try reader.integer("id")
        target = try CommandTarget(reading: &reader)
        operation = try ControlOperation(reading: &reader)
    }
}
