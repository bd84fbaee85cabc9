import NIOCore
import Wire

/// File work a ``StagingMachine`` asks its shell to do (the shell runs it off the event loops, in order per
/// agent, and answers with a ``StagingEvent``).
public enum StagingIO: Sendable, Hashable {
    /// Look for the file (already present: answer `present`), else create `<target>.partial-<pid>`.
    case open(StagingOffer)
    /// `pwrite` verified bytes at `offset` of the partial file.
    case write(transferID: UInt64, offset: UInt64, data: ByteBuffer)
    /// Read `length` bytes at `offset` (to feed a child that is behind, or as the source).
    case read(transferID: UInt64, offset: UInt64, length: Int)
    /// Every byte was written and the whole-file digest matched (checked by the machine): fsync, rename into place.
    case commit(transferID: UInt64)
    /// Give up on the file: remove the partial file.
    case discard(transferID: UInt64)
}

/// The shell's answer to a ``StagingIO``.
public enum StagingEvent: Sendable, Hashable {
    case opened(transferID: UInt64, present: Bool)
    case written(transferID: UInt64, offset: UInt64, length: Int)
    /// Bytes read at `offset`, with their chunk checksum when the file was complete when opened (the source,
    /// or a node that had it): computed off the event loop. A partial file's chunks were checked on arrival,
    /// and the machine has their checksums.
    case read(transferID: UInt64, offset: UInt64, data: ByteBuffer, checksum: ChunkChecksum?)
    case committed(transferID: UInt64, path: String)
    /// The operation failed; `message` names file, offset and cause.
    case failed(transferID: UInt64, message: String)
}

/// What a ``StagingMachine`` asks of its host ``AgentMachine``.
public enum StagingAction: Sendable, Hashable {
    /// Send to a neighbour (a link that is up).
    case send(Message, to: Int)
    /// Flood to every link except `except`.
    case flood(Message, except: Int?)
    /// Route to the controller (rank 0) over the tree or the binomial graph.
    case toController(Message)
    /// Run file work.
    case io(StagingIO)
    /// Controller (source): the slowest direct child has acknowledged this many bytes of the transfer.
    case progress(transferID: UInt64, bytes: UInt64)
    /// A chunk failed its checksum and was asked for again from `feeder` (for the log).
    case resendRequested(transferID: UInt64, offset: UInt64, feeder: Int)
}

/// A node's result for one staged file, as it reaches the controller.
public struct StagingReport: Codable, Sendable, Hashable {
    public enum Outcome: String, Codable, Sendable {
        /// Received, verified and renamed into place.
        case staged
        /// The node already held the file (same image id): nothing was sent to it.
        case skipped
        case failed
    }

    public var node: Int
    public var transferID: UInt64
    public var outcome: Outcome
    /// Where the file is on the node, or why it failed.
    public var detail: String

    public init(node: Int, transferID: UInt64, outcome: Outcome, detail: String) {
        self.node = node
        self.transferID = transferID
        self.outcome = outcome
        self.detail = detail
    }
}

extension FileChunk {
    /// A copy with its first byte flipped and the original checksum (test hook for corrupted transfers).
    func corrupted() -> FileChunk {
        var bytes = Array(data.readableBytesView)
        if !bytes.isEmpty { bytes[0] ^= 0xFF }
        return FileChunk(transferID: transferID, offset: offset, totalLength: totalLength, checksum: checksum, data: ByteBuffer(bytes: bytes))
    }
}
