import Wire

/// One file's staging state on one agent (see ``StagingMachine``).
struct StagingTransfer: Sendable {
    /// What a child (a node this agent feeds) has: `acked` bytes confirmed, `next` the next offset to send.
    struct Child: Sendable, Hashable {
        var next: UInt64
        var acked: UInt64
    }

    let offer: StagingOffer
    /// The controller reading the original file.
    let isSource: Bool
    /// The file is open (partial) or found present.
    var opened = false
    /// The node holds the whole verified file (present, committed, or the source).
    var complete = false
    var committing = false
    var failure: String?
    /// Who feeds this agent (nil for the source or when no live feeder is left).
    var feeder: Int?
    /// Feeders that detached or failed for this transfer.
    var avoid: Set<Int> = []
    /// Contiguous verified bytes from offset 0.
    var received: UInt64 = 0
    /// The SHA-256 chain over the `received` bytes: the next chunk is checked by absorbing it (``ChunkChain``).
    var chain = ChunkChain()
    /// The file's SHA-256, once the last chunk checked out (compared with the manifest's before the commit).
    var digest: ChunkChecksum?
    /// Contiguous bytes written to the partial file.
    var written: UInt64 = 0
    var lastAck: UInt64?
    /// Offset whose resend was asked for (one request per bad chunk).
    var resendRequested: UInt64?
    /// Chunks in memory by offset: not yet written, or still to be forwarded, or read back for children.
    var buffer: [UInt64: FileChunk] = [:]
    /// Offsets being read from the file.
    var reading: Set<UInt64> = []
    var children: [Int: Child] = [:]
    var progressReported: UInt64 = 0
    var reported = false
    /// This agent sent the offer over every link (``StagingMachine/floodOffer(_:except:_:)``).
    var flooded = false

    init(offer: StagingOffer, isSource: Bool) {
        self.offer = offer
        self.isSource = isSource
    }

    var size: UInt64 { offer.size }
    /// Bytes this agent can pass on (from memory or its file).
    var available: UInt64 { complete ? size : received }
    /// Bytes readable from this agent's file.
    var readable: UInt64 { complete ? size : written }
    var isActive: Bool { failure == nil }
}
