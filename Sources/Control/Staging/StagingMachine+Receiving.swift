import Wire

extension StagingMachine {
    /// A chunk arrived from `peer`: accept it only from the current feeder, in order, with a valid checksum.
    public mutating func receiveChunk(_ chunk: FileChunk, from peer: Int) -> [StagingAction] {
        let id = chunk.transferID
        guard var transfer = transfers[id], !transfer.isSource, !transfer.complete, transfer.opened, transfer.isActive,
              transfer.feeder == peer else { return [] }
        // Duplicates (after a resend or a change of feeder) and chunks after a dropped one are ignored.
        guard chunk.offset == transfer.received else { return [] }
        var out: [StagingAction] = []
        let expectedLength = transfer.offer.chunkLength(at: chunk.offset)
        guard chunk.totalLength == transfer.size, chunk.data.readableBytes == expectedLength, chunk.isChecksumValid else {
            if transfer.resendRequested != chunk.offset {
                transfer.resendRequested = chunk.offset
                transfers[id] = transfer
                out.append(.send(ControlPayload.stageResend(transferID: id, offset: chunk.offset).message, to: peer))
                out.append(.resendRequested(transferID: id, offset: chunk.offset, feeder: peer))
            }
            return out
        }
        transfer.resendRequested = nil
        transfer.received += UInt64(expectedLength)
        transfer.buffer[chunk.offset] = chunk
        transfers[id] = transfer
        out.append(.io(.write(transferID: id, offset: chunk.offset, data: chunk.data)))
        pump(id, &out)
        acknowledge(id, &out)
        return out
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
            guard var transfer = transfers[id], transfer.isActive, offset == transfer.written else { return [] }
            transfer.written += UInt64(length)
            transfers[id] = transfer
            pump(id, &out)
            acknowledge(id, &out)
            finishIfDone(id, &out)
        case .read(let id, let offset, let data, let checksum):
            guard var transfer = transfers[id], transfer.isActive else { return [] }
            transfer.reading.remove(offset)
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

    /// Every byte received and written: commit (the shell checks the whole-file digest first and answers
    /// `.failed` if it does not match).
    mutating func finishIfDone(_ id: UInt64, _ out: inout [StagingAction]) {
        guard var transfer = transfers[id], transfer.isActive, transfer.opened, !transfer.complete, !transfer.committing,
              transfer.received == transfer.size, transfer.written == transfer.size else { return }
        transfer.committing = true
        transfers[id] = transfer
        out.append(.io(.commit(transferID: id)))
    }

    /// Tells the feeder how far it may send: everything held, at most a window beyond what is written.
    /// The first acknowledgement to a feeder attaches this node to it.
    mutating func acknowledge(_ id: UInt64, _ out: inout [StagingAction]) {
        guard var transfer = transfers[id], !transfer.isSource, transfer.opened, transfer.isActive,
              let feeder = transfer.feeder else { return }
        let window = UInt64(configuration.window * transfer.offer.chunkSize)
        let position = transfer.complete ? transfer.size : min(transfer.received, transfer.written + window)
        if let last = transfer.lastAck, last >= position { return }
        transfer.lastAck = position
        transfers[id] = transfer
        out.append(.send(.ack(Ack(of: .fileChunk, id: id, position: position)), to: feeder))
    }
}
