import NIOCore
import Topology
import Testing
import Wire

@testable import Control

/// An in-memory network of ``StagingMachine``s (rank 0 = source) over a binary boot tree plus binomial-graph
/// links, with in-memory files and synchronous file I/O; FIFO delivery per link, as over TCP. Hooks inject
/// corruption, drops and failures.
struct StagingNetwork {
    enum Event {
        case message(from: Int, to: Int, Message)
        case io(rank: Int, StagingEvent)
    }

    let tree: BootTree
    var machines: [Int: StagingMachine] = [:]
    var links: [Int: Set<Int>] = [:]
    var files: [Int: [UInt8]] = [:]
    var present: Set<Int> = []
    var committed: [Int: [UInt8]] = [:]
    var reports: [StagingReport] = []
    var queue: [Event] = []
    var source: [UInt8]
    /// Corrupt the first chunk `rank` receives at `offset`.
    var corrupt: [Int: UInt64] = [:]
    /// Corrupt every chunk `rank` receives at `offset` from its tree parent (a parent whose copy is damaged).
    var damagedAtParent: [Int: UInt64] = [:]
    /// `rank`'s writes at or beyond `offset` fail (a full disk).
    var failWrites: [Int: UInt64] = [:]
    var resendRequests = 0
    /// Resend requests the receivers announced for the log.
    var resendsAnnounced = 0
    var chunksDelivered: [Int: Int] = [:]
    var offersDelivered: [Int: Int] = [:]
    var maxBuffered = 0
    var steps = 0

    init(nodes: Int, fileSize: Int, chunkSize: Int, window: Int = 4, fanout: Int = 2) throws {
        tree = try BootTree(kind: .tree(arity: fanout), nodeCount: nodes + 1)
        source = (0..<fileSize).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8) }
        let router = try FailoverRouter(rank: 0, tree: tree)
        for rank in 0...nodes {
            machines[rank] = StagingMachine(configuration: .init(rank: rank, tree: tree, window: window, bufferLimit: window * 2))
            links[rank] = Set(router.fallbackGraph.neighbors(of: rank).map(Int.init))
        }
        offer = StagingOffer(transferID: 7, size: UInt64(fileSize), sha256: Self.sha(source), chunkSize: chunkSize, target: .job(index: 0, path: "f"))
    }

    var offer: StagingOffer

    static func sha(_ bytes: [UInt8]) -> String {
        var digest = ContentDigest()
        bytes.withUnsafeBytes { digest.update($0) }
        return digest.hex()
    }

    mutating func start() {
        machines[0]!.links = links[0]!  // as AgentMachine sets them before each step
        apply(0, machines[0]!.start(offer))
    }

    /// Runs until quiet (or `until` says stop); returns the number of events handled.
    @discardableResult
    mutating func run(maxSteps: Int = 1_000_000, until stop: (StagingNetwork) -> Bool = { _ in false }) -> Int {
        var handled = 0
        while !queue.isEmpty, handled < maxSteps, !stop(self) {
            let event = queue.removeFirst()
            handled += 1
            steps += 1
            switch event {
            case .message(let from, let to, let message):
                guard machines[to] != nil, machines[from] != nil else { continue }
                deliver(message, from: from, to: to)
            case .io(let rank, let result):
                guard var machine = machines[rank] else { continue }
                let actions = machine.handle(result)
                machines[rank] = machine
                apply(rank, actions)
            }
        }
        return handled
    }

    mutating func deliver(_ message: Message, from: Int, to: Int) {
        guard var machine = machines[to] else { return }
        machine.links = links[to]!
        var actions: [StagingAction] = []
        switch message {
        case .fileChunk(var chunk):
            chunksDelivered[to, default: 0] += 1
            if corrupt[to] == chunk.offset {
                corrupt[to] = nil
                chunk = chunk.corrupted()
            }
            if damagedAtParent[to] == chunk.offset, from == tree.parent(of: to) { chunk = chunk.corrupted() }
            actions = machine.receiveChunk(chunk, from: from)
        case .ack(let ack):
            actions = machine.receiveAck(ack.id, position: ack.position, from: from)
        default:
            switch ControlPayload(message: message) {
            case .stageOffer(let offer):
                offersDelivered[to, default: 0] += 1
                actions = machine.receiveOffer(offer, from: from)
            case .stageResend(let id, let offset):
                resendRequests += 1
                actions = machine.receiveResend(id, offset: offset, from: from)
            case .stageDetach(let id): actions = machine.receiveDetach(id, from: from)
            case .staged(let report): reports.append(report)
            default: break
            }
        }
        for transfer in machine.transfers.values { maxBuffered = max(maxBuffered, transfer.buffer.count) }
        machines[to] = machine
        apply(to, actions)
    }

    mutating func apply(_ rank: Int, _ actions: [StagingAction]) {
        for action in actions {
            switch action {
            case .send(let message, let peer):
                if links[rank]!.contains(peer) { queue.append(.message(from: rank, to: peer, message)) }
            case .flood(let message, let except):
                for peer in links[rank]!.sorted() where peer != except { queue.append(.message(from: rank, to: peer, message)) }
            case .toController(let message):
                if case .staged(let report) = ControlPayload(message: message) { reports.append(report) }
            case .io(let io):
                if let result = perform(rank, io) { queue.append(.io(rank: rank, result)) }
            case .progress: break
            case .resendRequested: resendsAnnounced += 1
            }
        }
    }

    mutating func perform(_ rank: Int, _ io: StagingIO) -> StagingEvent? {
        switch io {
        case .open(let offer):
            if rank == 0 || present.contains(rank) { return .opened(transferID: offer.transferID, present: true) }
            files[rank] = Array(repeating: 0, count: Int(offer.size))
            return .opened(transferID: offer.transferID, present: false)
        case .write(let id, let offset, let data):
            if let full = failWrites[rank], offset >= full {
                return .failed(transferID: id, message: "node \(rank): write at offset \(offset): No space left on device")
            }
            files[rank]!.replaceSubrange(Int(offset)..<Int(offset) + data.readableBytes, with: data.readableBytesView)
            return .written(transferID: id, offset: offset, length: data.readableBytes)
        case .read(let id, let offset, let length):
            let bytes = rank == 0 || present.contains(rank) ? source : files[rank]!
            let data = ByteBuffer(bytes: bytes[Int(offset)..<Int(offset) + length])
            // As StagingFiles: a complete file's chunks come with their checksums, a partial file's without.
            guard rank == 0 || present.contains(rank) else { return .read(transferID: id, offset: offset, data: data, checksum: nil) }
            let checksums = ChunkChecksum.chain(of: bytes, chunkSize: offer.chunkSize)
            return .read(transferID: id, offset: offset, data: data, checksum: checksums[Int(offset) / offer.chunkSize])
        case .commit(let id):
            // The machine checked the whole-file digest before asking: what it commits must be the source's file.
            guard files[rank] == source else {
                Issue.record("node \(rank) asked to commit a file that is not the source's")
                return .failed(transferID: id, message: "not the source's file")
            }
            committed[rank] = files[rank]
            return .committed(transferID: id, path: "node\(rank)/f")
        case .discard:
            files[rank] = nil
            return nil
        }
    }

    /// Kills `rank`: its queued traffic is lost; every survivor (or only those of `told`) learns of the failure.
    mutating func kill(_ rank: Int, told: Set<Int>? = nil) {
        machines[rank] = nil
        queue.removeAll { event in
            if case .message(let from, let to, _) = event { return from == rank || to == rank }
            if case .io(let owner, _) = event { return owner == rank }
            return false
        }
        for survivor in machines.keys.sorted() {
            links[survivor]!.remove(rank)
            var machine = machines[survivor]!
            machine.links = links[survivor]!
            let actions = told.map { $0.contains(survivor) } ?? true ? machine.peerFailed(rank) : []
            machines[survivor] = machine
            apply(survivor, actions)
        }
    }

    func outcome(of rank: Int) -> StagingReport.Outcome? {
        reports.first { $0.node == rank }?.outcome
    }
}
