import Wire

extension StagingMachine {
    /// A child acknowledged `position` bytes (the first acknowledgement attaches it; the whole file detaches it).
    /// A node that attaches to a feeder whose own copy failed (it chose this agent after another gave up, or
    /// its link was down when this agent detached its children) is detached at once, so that it looks for
    /// another feeder or fails, instead of waiting for chunks that will not come.
    public mutating func receiveAck(_ id: UInt64, position: UInt64, from peer: Int) -> [StagingAction] {
        guard let index = transfers.index(forKey: id) else {
            pendingAttach[id, default: [:]][peer] = position
            return []
        }
        enum Step { case ignore, detach, pump(isSource: Bool) }
        // In place: reading a field through `transfers.values[index]` copied the whole transfer first.
        let step: Step = Self.update(&transfers.values[index]) { transfer in
            guard peer != transfer.feeder else { return .ignore }
            guard transfer.isActive else { return .detach }
            if position >= transfer.size {
                transfer.children[peer] = nil
            } else if var child = transfer.children[peer] {
                child.acked = max(child.acked, position)
                child.next = max(child.next, child.acked)
                transfer.children[peer] = child
            } else {
                transfer.children[peer] = .init(next: position, acked: position)
            }
            return .pump(isSource: transfer.isSource)
        }
        switch step {
        case .ignore:
            return []
        case .detach:
            return [.send(ControlPayload.stageDetach(transferID: id).message, to: peer)]
        case .pump(let isSource):
            var out: [StagingAction] = []
            pump(id, &out)
            if isSource { noteProgress(id, &out) }
            return out
        }
    }

    /// Runs `body` on `transfer` in place. The machine's steps used to copy a transfer out of ``transfers``,
    /// change it and store it back: while both copies lived, its first write to a buffer, set or dictionary
    /// copied that collection whole (a chunk buffer and the children on every chunk, ack and write).
    static func update<R>(_ transfer: inout StagingTransfer, _ body: (inout StagingTransfer) -> R) -> R { body(&transfer) }

    /// A child got a bad chunk at `offset`: go back and send again from there.
    public mutating func receiveResend(_ id: UInt64, offset: UInt64, from peer: Int) -> [StagingAction] {
        guard var transfer = transfers[id], var child = transfer.children[peer] else { return [] }
        child.next = min(child.next, offset)
        transfer.children[peer] = child
        transfers[id] = transfer
        var out: [StagingAction] = []
        pump(id, &out)
        return out
    }

    /// Sends every child what its window allows, from memory or by reading the file; then trims memory.
    mutating func pump(_ id: UInt64, _ out: inout [StagingAction]) {
        guard let index = transfers.index(forKey: id) else { return }
        let links = self.links, failed = self.failed, windowChunks = UInt64(configuration.window), bufferLimit = configuration.bufferLimit
        Self.update(&transfers.values[index]) { transfer in
            guard transfer.isActive, transfer.opened else { return }
            let chunkSize = UInt64(transfer.offer.chunkSize)
            let window = windowChunks * chunkSize
            for peer in transfer.children.keys.sorted() where links.contains(peer) && !failed.contains(peer) {
                guard var child = transfer.children[peer] else { continue }
                let limit = min(transfer.available, child.acked + window)
                let start = child.next
                while child.next < limit {
                    let offset = child.next
                    if let chunk = transfer.buffer[offset] {
                        out.append(.send(.fileChunk(chunk), to: peer))
                        child.next += UInt64(chunk.data.readableBytes)
                        continue
                    }
                    if offset < transfer.readable, transfer.reading.insert(offset).inserted {
                        out.append(.io(.read(transferID: id, offset: offset, length: transfer.offer.chunkLength(at: offset))))
                    }
                    break
                }
                if child.next != start { transfer.children[peer] = child }
            }
            Self.trim(&transfer, links: links, failed: failed, bufferLimit: bufferLimit)
        }
    }

    /// Drops chunks that are on disk and that every child has passed; beyond the buffer limit, drops the
    /// oldest written ones anyway (a child that needs them again gets them read back).
    static func trim(_ transfer: inout StagingTransfer, links: Set<Int>, failed: Set<Int>, bufferLimit: Int) {
        guard !transfer.buffer.isEmpty else { return }
        var slowest = UInt64.max
        for (peer, child) in transfer.children where links.contains(peer) && !failed.contains(peer) { slowest = min(slowest, child.next) }
        let readable = transfer.readable
        let offer = transfer.offer
        let onDisk = transfer.buffer.keys.filter { $0 + UInt64(offer.chunkLength(at: $0)) <= readable }.sorted()
        var count = transfer.buffer.count
        for offset in onDisk where offset < slowest || count > bufferLimit {
            transfer.buffer[offset] = nil
            count -= 1
        }
    }

    /// Source: reports the slowest direct child's acknowledged bytes when it moves.
    mutating func noteProgress(_ id: UInt64, _ out: inout [StagingAction]) {
        guard var transfer = transfers[id] else { return }
        let slowest = transfer.children.values.map(\.acked).min() ?? transfer.size
        guard slowest > transfer.progressReported else { return }
        transfer.progressReported = slowest
        transfers[id] = transfer
        out.append(.progress(transferID: id, bytes: slowest))
    }
}
