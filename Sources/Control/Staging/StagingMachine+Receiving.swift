import Wire

extension StagingMachine {
    /// A chunk arrived from `peer`: accept it only from the current feeder, in order, with a valid checksum
    /// (the SHA-256 chain over the file up to its end; the last chunk's is the file's SHA-256).
    public mutating func receiveChunk(_ chunk: FileChunk, from peer: Int) -> [StagingAction] {
        let id = chunk.transferID
        guard let index = transfers.index(forKey: id) else { return [] }
        enum Verdict { case ignored, bad(repeated: Bool), accepted }
        let verdict = Self.update(&transfers.values[index]) { transfer -> Verdict in
            guard !transfer.isSource, !transfer.complete, transfer.opened, transfer.isActive, transfer.feeder == peer else { return .ignored }
            // Duplicates (after a resend or a change of feeder) and chunks after a dropped one are ignored.
            guard chunk.offset == transfer.received else { return .ignored }
            let expectedLength = transfer.offer.chunkLength(at: chunk.offset)
            let isLast = chunk.offset + UInt64(expectedLength) == transfer.size
            let verified = chunk.totalLength == transfer.size && chunk.data.readableBytes == expectedLength
                ? Self.chain(transfer.chain, after: chunk, isLast: isLast) : nil
            guard let chain = verified else {
                if transfer.resendRequested == chunk.offset { return .bad(repeated: true) }
                transfer.resendRequested = chunk.offset
                return .bad(repeated: false)
            }
            transfer.resendRequested = nil
            transfer.received += UInt64(expectedLength)
            transfer.chain = chain
            if isLast { transfer.digest = chunk.checksum }
            transfer.buffer[chunk.offset] = chunk
            return .accepted
        }
        var out: [StagingAction] = []
        switch verdict {
        case .ignored:
            return []
        case .bad(repeated: true):
            // A second bad copy from the same feeder is no accident on a link: its copy of the file changed or
            // is damaged. Take the file from another neighbour (or fail if none is left).
            refeed(id, avoiding: peer, reason: "agent \(peer) sent the chunk at offset \(chunk.offset) twice with a bad checksum", &out)
        case .bad(repeated: false):
            out.append(.send(ControlPayload.stageResend(transferID: id, offset: chunk.offset).message, to: peer))
            out.append(.resendRequested(transferID: id, offset: chunk.offset, feeder: peer))
        case .accepted:
            checksums[id, default: [:]][chunk.offset] = chunk.checksum
            out.append(.io(.write(transferID: id, offset: chunk.offset, data: chunk.data)))
            pump(id, &out)
            acknowledge(id, &out)
        }
        return out
    }

    /// The chain after `chunk` if the chunk is the next one and its checksum is right, else nil.
    static func chain(_ chain: ChunkChain, after chunk: FileChunk, isLast: Bool) -> ChunkChain? {
        guard chunk.offset == chain.position else { return nil }
        return chunk.data.withUnsafeReadableBytes { bytes in
            if isLast { return chain.finishing(bytes) == chunk.checksum ? chain : nil }
            guard let (checksum, next) = chain.absorbing(bytes), checksum == chunk.checksum else { return nil }
            return next
        }
    }

    /// The shell finished a piece of file work.
    public mutating func handle(_ event: StagingEvent) -> [StagingAction] {
        var out: [StagingAction] = []
        switch event {
        case .opened(let id, let present):
            guard var transfer = transfers[id], transfer.isActive else { return [] }
            transfer.opened = true
            if present || transfer.isSource { transfer.complete = true }
            transfers[id] = transfer
            if present { report(id, .skipped, detail: "already present", &out) }
            acknowledge(id, &out)
            finishIfDone(id, &out)
            pump(id, &out)
        case .written(let id, let offset, let length):
            guard let index = transfers.index(forKey: id) else { return [] }
            let advanced = Self.update(&transfers.values[index]) { transfer in
                guard transfer.isActive, offset == transfer.written else { return false }
                transfer.written += UInt64(length)
                return true
            }
            guard advanced else { return [] }
            pump(id, &out)
            acknowledge(id, &out)
            finishIfDone(id, &out)
        case .read(let id, let offset, let data, let checksum):
            guard var transfer = transfers[id], transfer.isActive else { return [] }
            transfer.reading.remove(offset)
            guard let checksum = checksum ?? checksums[id]?[offset] else {
                fail(id, "\(transfer.offer.target.displayName): no checksum for the chunk at offset \(offset)", &out)
                return out
            }
            transfer.buffer[offset] = FileChunk(
                transferID: id, offset: offset, totalLength: transfer.size, checksum: checksum, data: data)
            transfers[id] = transfer
            pump(id, &out)
        case .committed(let id, let path):
            guard var transfer = transfers[id], transfer.isActive else { return [] }
            transfer.complete = true
            transfer.committing = false
            transfers[id] = transfer
            report(id, .staged, detail: path, &out)
            acknowledge(id, &out)
            pump(id, &out)
        case .failed(let id, let message):
            fail(id, message, &out)
        }
        return out
    }

    /// Every byte received and written: commit if the file's SHA-256 (checked with the last chunk) is the
    /// manifest's, else fail.
    mutating func finishIfDone(_ id: UInt64, _ out: inout [StagingAction]) {
        guard let index = transfers.index(forKey: id) else { return }
        let done: (digest: ChunkChecksum?, offer: StagingOffer)? = Self.update(&transfers.values[index]) { transfer in
            guard transfer.isActive, transfer.opened, !transfer.complete, !transfer.committing,
                  transfer.received == transfer.size, transfer.written == transfer.size else { return nil }
            return (transfer.digest, transfer.offer)
        }
        guard let done else { return }
        let digest = done.digest ?? ChunkChain().finishing(UnsafeRawBufferPointer(start: nil, count: 0))  // an empty file
        if let mismatch = done.offer.mismatch(digest: digest.hex) {
            fail(id, mismatch, &out)
            return
        }
        transfers.values[index].committing = true
        out.append(.io(.commit(transferID: id)))
    }

    /// Tells the feeder how far it may send: everything held, at most a window beyond what is written.
    /// The first acknowledgement to a feeder attaches this node to it; after it, one goes when the position has
    /// moved half a window (the feeder still has half a window to send meanwhile, so the pipeline stays full
    /// with half the acknowledgements or fewer: one per chunk was a third of the frames a node received while
    /// staging) and when the whole file is held.
    mutating func acknowledge(_ id: UInt64, _ out: inout [StagingAction]) {
        guard let index = transfers.index(forKey: id) else { return }
        let windowChunks = configuration.window
        let ack: (feeder: Int, position: UInt64)? = Self.update(&transfers.values[index]) { transfer in
            guard !transfer.isSource, transfer.opened, transfer.isActive, let feeder = transfer.feeder else { return nil }
            let chunkSize = UInt64(transfer.offer.chunkSize)
            let position = transfer.complete ? transfer.size : min(transfer.received, transfer.written + UInt64(windowChunks) * chunkSize)
            if let last = transfer.lastAck {
                guard position > last else { return nil }
                let step = UInt64(max(1, windowChunks / 2)) * chunkSize
                guard position - last >= step || position == transfer.size else { return nil }
            }
            transfer.lastAck = position
            return (feeder, position)
        }
        if let ack { out.append(.send(.ack(Ack(of: .fileChunk, id: id, position: ack.position)), to: ack.feeder)) }
    }
}
