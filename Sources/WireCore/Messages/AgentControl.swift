import NIOCore

/// The body of ``Message/agentControl(_:)``: a control-layer message (bootstrap reports, address tables,
/// task results) whose schema belongs to the Control module. Wire frames, authenticates and sizes it;
/// the body is opaque here (on decode, a slice of the received frame).
public struct AgentControl: Hashable, Sendable {
    public var body: ByteBuffer

    public init(body: ByteBuffer) {
        self.body = body
    }
}

extension AgentControl: PayloadCodable {
    static let kind = MessageKind.agentControl

    func encode(into buffer: inout ByteBuffer) {
        buffer.writeWireBuffer(body)
    }

    init(reading reader: inout PayloadReader) throws(WireError) {
        body = try reader.slice("body")
    }
}
