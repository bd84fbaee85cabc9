/// Why a node agent process could not start (bad configuration, missing step environment): one line.
public struct NodeAgentError: Error, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
