import Foundation
import NIOCore
import Wire

/// Control-layer messages that Wire has no dedicated kind for. They travel inside a ``Wire/FileChunk`` whose
/// transfer id carries ``ControlPayload/transferID`` (a reserved value no file transfer uses), as JSON.
///
/// Wire could later grow a dedicated `agentControl` message kind; only ``message`` and ``init(message:)``
/// would change.
public enum ControlPayload: Codable, Sendable, Hashable {
    /// Child → parent after bootstrap of its subtree: every endpoint that came up, every rank that did not.
    case subtreeReady(endpoints: [AgentEndpoint], failed: [FailureNotice])
    /// Controller → down the tree: every live endpoint, and the job's epoch-0 failure list.
    case addressTable(endpoints: [AgentEndpoint], failed: [Int])
    /// Child → parent: this many agents of my subtree have all their BMG links up.
    case subtreeWired(count: Int)
    /// Agent → controller: a task ended (`status` is the exit code or 128 + signal).
    case taskExited(node: Int, task: Int, status: Int32, message: String)
    /// Agent → controller: the tasks of a node could not start (e.g. command not found).
    case launchFailed(node: Int, message: String)

    /// The reserved transfer id marking a control payload ("vhpcctl\0").
    public static let transferID: UInt64 = 0x7668_7063_6374_6C00

    /// Whether the payload travels to the controller (rank 0) hop by hop.
    public var isForController: Bool {
        switch self {
        case .taskExited, .launchFailed: return true
        default: return false
        }
    }

    /// This payload as a Wire message.
    public var message: Message {
        let bytes = (try? JSONEncoder().encode(self)) ?? Data()
        let buffer = ByteBuffer(bytes: bytes)
        return .fileChunk(FileChunk(
            transferID: Self.transferID, offset: 0, totalLength: UInt64(bytes.count),
            checksum: .none, data: buffer))
    }

    /// Decodes a control payload from a Wire message, or nil if it is not one.
    public init?(message: Message) {
        guard case .fileChunk(let chunk) = message, chunk.transferID == Self.transferID else { return nil }
        let bytes = Data(chunk.data.readableBytesView)
        guard let payload = try? JSONDecoder().decode(ControlPayload.self, from: bytes) else { return nil }
        self = payload
    }
}
