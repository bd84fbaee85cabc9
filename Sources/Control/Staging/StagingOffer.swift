import Wire
#if canImport(Glibc)
import Glibc
#endif

/// One file to stage to every node: announced by the controller down the tree, flooded over every link once a
/// failure is known (so agents cut off from their tree parent still learn of it; see ``StagingMachine``), then
/// streamed down the tree in chunks.
public struct StagingOffer: Codable, Sendable, Hashable {
    /// Unique per job (the `transferID` of every ``Wire/FileChunk`` of this file).
    public var transferID: UInt64
    /// Size of the file in bytes.
    public var size: UInt64
    /// Lowercase hex SHA-256 of the whole file; every node checks it before the file is renamed into place.
    public var sha256: String
    /// Bytes per chunk (the last one may be shorter): a multiple of SHA-256's 64-byte block, so that every chunk
    /// but the last ends on a block boundary and carries its chaining value (``Wire/ChunkChain``).
    public var chunkSize: Int
    /// Where the file goes on each node.
    public var target: StagingTarget
    /// Permission bits of the committed file (the source's for job files, so a 0600 secret stays private and
    /// a program stays executable); nil: 0600. Setuid, setgid and sticky bits are never carried.
    public var mode: UInt32?

    public init(transferID: UInt64, size: UInt64, sha256: String, chunkSize: Int = 1 << 20, target: StagingTarget,
                mode: UInt32? = nil) {
        self.transferID = transferID
        self.size = size
        self.sha256 = sha256
        let block = ChunkChain.blockSize
        self.chunkSize = max(block, (chunkSize + block - 1) / block * block)
        self.target = target
        self.mode = mode.map { $0 & 0o777 }
    }

    /// The mode a node gives the committed file.
    public var fileMode: mode_t { mode_t(mode ?? 0o600) & 0o777 }

    /// Length of the chunk starting at `offset`.
    public func chunkLength(at offset: UInt64) -> Int {
        Int(min(UInt64(chunkSize), size - min(offset, size)))
    }

    /// Number of chunks (at least one, so that an empty file is still staged and committed).
    public var chunkCount: Int { max(1, Int((size + UInt64(chunkSize) - 1) / UInt64(chunkSize))) }

    /// Why a received file whose SHA-256 is `digest` must not be committed, or nil if it is this file.
    public func mismatch(digest: String) -> String? {
        digest == sha256.lowercased() ? nil : "\(target.displayName): sha256 \(digest) does not match the expected \(sha256)"
    }
}

/// Where a staged file lands in a node's state directory.
public enum StagingTarget: Codable, Sendable, Hashable {
    /// A job file (`vhpc run --stage FILE[:DEST]`): `<node dir>/staged/<job>/<path>`; tasks see it as
    /// `VHPC_STAGED_<index>`. Removed when the job ends.
    case job(index: Int, path: String)
    /// One artifact of a VSE image: `<node dir>/images/<imageID>/<artifact>`. The image directory appears
    /// (atomic rename) once all `artifactCount` artifacts are committed; a node that already has the image
    /// skips it and feeds its subtree from its own copy.
    case image(imageID: String, artifact: String, artifactCount: Int)

    /// For messages: the file's name as the user knows it.
    public var displayName: String {
        switch self {
        case .job(_, let path): return path
        case .image(let id, let artifact, _): return "image \(id.prefix(12))/\(artifact)"
        }
    }
}
