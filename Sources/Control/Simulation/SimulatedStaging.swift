import NIOCore
import Wire

/// The file side of a ``StagingSimulation`` on a ``SimulatedCluster``: each node's disk, and the stand-in file
/// the real ``StagingMachine``s move.
///
/// The machines stage a stand-in of one SHA-256 block (64 bytes) per modelled chunk — their windows, acks,
/// feeders, checksums and commits run unchanged, and their frames are really encoded and decoded — while the
/// cluster charges each stand-in byte as ``scale`` bytes: on the wire (``SimulatedCluster/wireSize(_:scale:)``), in
/// a receiver's SHA-256 check (``hashTime(_:)``) and on the disks. Hashing a real gigabyte per node would take
/// the simulation days at 100,000 nodes.
struct SimulatedStaging {
    /// Modelled bytes per stand-in byte: the modelled chunk size over 64.
    let scale: Int
    /// SHA-256 throughput of a node's core, and its disk's for reads and writes (bytes per second).
    let hashRate: Double
    let diskBandwidth: Double
    /// The stand-in file and its chunk checksums (what the source's shell computes as it reads).
    let file: [UInt8]
    let checksums: [ChunkChecksum]
    let offer: StagingOffer
    /// When each node's disk has done what is queued on it.
    var diskFreeAt: [Duration]
    /// When each node had the file committed (fsync'd and renamed into place).
    var committed: [Duration?]
    /// Reports the controller received: node → outcome and when.
    var reports: [Int: (outcome: StagingReport.Outcome, at: Duration)] = [:]

    /// A stand-in for a file of `size` bytes in chunks of `chunkSize` (a multiple of 64) on `ranks` ranks.
    init(size: UInt64, chunkSize: Int, hashRate: Double, diskBandwidth: Double, ranks: Int) {
        let block = ChunkChain.blockSize
        scale = max(1, chunkSize / block)
        self.hashRate = hashRate
        self.diskBandwidth = diskBandwidth
        // Every chunk but the last is one block; the last stands for what is left, rounded up to a stand-in byte.
        let whole = size / UInt64(chunkSize)
        let rest = size % UInt64(chunkSize)
        let length = Int(whole) * block + Int((rest + UInt64(scale) - 1) / UInt64(scale))
        file = (0..<max(1, length)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        checksums = ChunkChecksum.chain(of: file, chunkSize: block)
        offer = StagingOffer(
            transferID: 1, size: UInt64(file.count), sha256: checksums.last!.hex, chunkSize: block,
            target: .job(index: 0, path: "stage-model.bin"))
        diskFreeAt = Array(repeating: .zero, count: ranks)
        committed = Array(repeating: nil, count: ranks)
    }

    /// Modelled bytes of `count` stand-in bytes.
    func modelled(_ count: Int) -> Int { count * scale }

    /// Time a node's core spends checking a received chunk's SHA-256 (what the chunk stands for).
    func hashTime(_ frame: Frame) -> Duration {
        guard hashRate.isFinite else { return .zero }
        return .fromSeconds(Double(modelled(frame.payload.readableBytes - FileChunk.authenticatedPrefixLength)) / hashRate)
    }

    /// When a disk operation on `count` stand-in bytes queued at `now` on `rank`'s disk ends (operations run
    /// one after another, in the order they were queued); `extra` is added (the source's hashing as it reads).
    mutating func disk(_ rank: Int, bytes count: Int, now: Duration, extra: Duration = .zero) -> Duration {
        let transfer = diskBandwidth.isFinite ? Duration.fromSeconds(Double(modelled(count)) / diskBandwidth) : .zero
        let done = max(now, diskFreeAt[rank]) + transfer + extra
        diskFreeAt[rank] = done
        return done
    }
}

extension SimulatedCluster {
    /// The staging shell of `rank`: runs its file work on the modelled disk and answers when it is done.
    mutating func performStagingIO(_ io: StagingIO, at rank: Int, now: Duration) {
        // In place (`staging!`): a copy would copy its per-node arrays on the first write.
        guard staging != nil else { return }
        switch io {
        case .open(let offer):
            schedule(.event(.staging(.opened(transferID: offer.transferID, present: false))), at: rank, time: now)
        case .write(let id, let offset, let data):
            let done = staging!.disk(rank, bytes: data.readableBytes, now: now)
            schedule(.event(.staging(.written(transferID: id, offset: offset, length: data.readableBytes))), at: rank, time: done)
        case .read(let id, let offset, let length):
            // The source's shell takes each chunk's checksum as it reads the file; others' come from the machine.
            let isSource = rank == 0
            let hashRate = staging!.hashRate
            let hashing = isSource && hashRate.isFinite ? Duration.fromSeconds(Double(staging!.modelled(length)) / hashRate) : .zero
            let done = staging!.disk(rank, bytes: length, now: now, extra: hashing)
            let start = Int(offset)
            let data = ByteBuffer(bytes: staging!.file[start..<min(staging!.file.count, start + length)])
            let checksum = isSource ? staging!.checksums[start / ChunkChain.blockSize] : nil
            schedule(.event(.staging(.read(transferID: id, offset: offset, data: data, checksum: checksum))), at: rank, time: done)
        case .commit(let id):
            // fsync: after the writes queued before it; then the rename.
            let done = staging!.disk(rank, bytes: 0, now: now)
            staging!.committed[rank] = done
            schedule(.event(.staging(.committed(transferID: id, path: "stage-model.bin"))), at: rank, time: done)
        case .discard:
            break
        }
    }
}
