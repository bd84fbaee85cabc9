import NIOCore

/// One `NAME=value` pair of a launched process's environment.
public struct EnvironmentVariable: Hashable, Sendable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }

    func encode(into buffer: inout ByteBuffer) {
        buffer.writeWireString(name)
        buffer.writeWireString(value)
    }

    init(reading reader: inout PayloadReader) throws(WireError) {
        name = try reader.string("variable name")
        value = try reader.string("variable value")
    }
}
