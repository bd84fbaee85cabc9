import Topology
import Wire

/// File staging down the agent tree as a sans-I/O state machine (one per agent, hosted by ``AgentMachine``).
///
/// The controller is the source: it sends a ``StagingOffer`` down the tree and reads the file in chunks. While
/// no failure is known the offer goes from parent to child only (each node gets it once, where a flood over
/// every binomial-graph link delivered it once per neighbour: 34 times at 100,000 nodes); an agent that knows
/// of a failure, or gets the offer from a node other than its parent, floods it over every link once, so
/// that it reaches nodes cut off from their tree parent (every agent reached then floods it once, as before).
/// A tree child whose link comes up again is sent the offers again (a copy may have been lost with the link).
/// Every node opens `<target>.partial-<pid>` (or finds the file present), then *attaches* to its feeder — its
/// tree parent — by acknowledging the bytes it holds. A feeder sends each child chunks from the child's
/// position, at most `window` chunks beyond the child's last acknowledgement (flow control); a relay forwards
/// each verified chunk to its children as soon as it arrives (pipelining) while its own write is in flight,
/// and serves children that fell behind by reading its file. A node acknowledges
/// `min(received, written + window)`, so a slow disk throttles its feeder and memory stays bounded.
///
/// A chunk whose SHA-256 does not match is dropped and asked for again (`stageResend`); the file is
/// committed (fsync, rename) only when the whole-file SHA-256 equals the offer's. A node that already holds
/// the file acknowledges it whole at once — its feeder sends it nothing — and feeds its own subtree from its
/// copy. When a feeder fails, its orphans attach to another live neighbour of lower rank (the tree parent,
/// else a binomial-graph neighbour: lower ranks only, so feeding never forms a cycle) by acknowledging the
/// highest contiguous offset they hold; the new feeder resumes there.
public struct StagingMachine: Sendable {
    /// Static parameters.
    public struct Configuration: Sendable {
        public var rank: Int
        public var tree: BootTree
        /// Chunks in flight per child, and unwritten chunks a node may hold beyond its writes.
        public var window: Int
        /// Chunks kept in memory for children before they are read back from the file instead.
        public var bufferLimit: Int

        public init(rank: Int, tree: BootTree, window: Int = 8, bufferLimit: Int = 32) {
            self.rank = rank
            self.tree = tree
            self.window = max(1, window)
            self.bufferLimit = max(self.window, bufferLimit)
        }
    }

    public let configuration: Configuration
    /// Neighbours with a live link (kept up to date by the host machine).
    public var links: Set<Int> = []
    var transfers: [UInt64: StagingTransfer] = [:]
    /// Checksums of the received chunks by transfer and offset, for chunks sent on after being read back from
    /// the file (kept out of ``transfers`` so that recording one is an in-place insert, not a copy).
    var checksums: [UInt64: [UInt64: ChunkChecksum]] = [:]
    /// Acknowledgements (attachments) that arrived before the offer.
    var pendingAttach: [UInt64: [Int: UInt64]] = [:]
    var failed: Set<Int> = []

    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    var rank: Int { configuration.rank }

    /// Whether any file was offered to this agent.
    public var hasTransfers: Bool { !transfers.isEmpty }

    /// Contiguous verified bytes this agent holds of `transferID`.
    public func received(_ transferID: UInt64) -> UInt64 { transfers[transferID]?.available ?? 0 }

    /// Why files failed to stage on this node (empty when none did): its tasks must not start.
    public var failureReasons: [String] {
        transfers.keys.sorted().compactMap { transfers[$0]?.failure }
    }

    /// Controller: begin staging `offer` from the original file.
    public mutating func start(_ offer: StagingOffer) -> [StagingAction] {
        guard transfers[offer.transferID] == nil else { return [] }
        transfers[offer.transferID] = StagingTransfer(offer: offer, isSource: true)
        applyPendingAttach(offer.transferID)
        var out: [StagingAction] = []
        passOn(offer.transferID, from: nil, &out)
        out.append(.io(.open(offer)))
        return out
    }

    /// An offer arrived: pass it on (``passOn(_:from:_:)``), open the file, pick the feeder. A copy from a node
    /// other than the tree parent was flooded: flood it too, once, even if this agent had it already.
    public mutating func receiveOffer(_ offer: StagingOffer, from peer: Int) -> [StagingAction] {
        let fromParent = peer == configuration.tree.parent(of: rank)
        guard transfers[offer.transferID] == nil else {
            var out: [StagingAction] = []
            if !fromParent { floodOffer(offer.transferID, except: peer, &out) }
            return out
        }
        var transfer = StagingTransfer(offer: offer, isSource: false)
        transfer.feeder = chooseFeeder(avoiding: [])
        transfers[offer.transferID] = transfer
        applyPendingAttach(offer.transferID)
        var out: [StagingAction] = []
        if fromParent { passOn(offer.transferID, from: peer, &out) } else { floodOffer(offer.transferID, except: peer, &out) }
        guard offer.chunkSize % ChunkChain.blockSize == 0 else {
            fail(offer.transferID, "\(offer.target.displayName): chunk size \(offer.chunkSize) is not a multiple of \(ChunkChain.blockSize) bytes", &out)
            return out
        }
        out.append(.io(.open(offer)))
        return out
    }

    /// Sends the offer of `id` on: to the tree children while no failure is known here and every child is
    /// linked, else over every link (``floodOffer(_:except:_:)``).
    mutating func passOn(_ id: UInt64, from peer: Int?, _ out: inout [StagingAction]) {
        guard let offer = transfers[id]?.offer else { return }
        let children = configuration.tree.children(of: rank)
        guard failed.isEmpty, children.allSatisfy({ links.contains($0) }) else {
            floodOffer(id, except: peer, &out)
            return
        }
        let message = ControlPayload.stageOffer(offer).message
        for child in children { out.append(.send(message, to: child)) }
    }

    /// Sends the offer of `id` over every link but `except`'s, once per transfer.
    mutating func floodOffer(_ id: UInt64, except: Int?, _ out: inout [StagingAction]) {
        guard let transfer = transfers[id], !transfer.flooded else { return }
        transfers[id]?.flooded = true
        out.append(.flood(ControlPayload.stageOffer(transfer.offer).message, except: except))
    }

    /// A link came up: a tree child's again after a drop may have lost its offers with it; it is sent them
    /// again (a copy from its parent that it has is dropped there). For a file whose copy failed here the
    /// child is also detached: it may still count on this agent, if the detach went out while the link was down.
    public mutating func linkUp(_ peer: Int) -> [StagingAction] {
        guard !transfers.isEmpty, configuration.tree.parent(of: peer) == rank else { return [] }
        var out: [StagingAction] = []
        for id in transfers.keys.sorted() {
            guard let transfer = transfers[id] else { continue }
            out.append(.send(ControlPayload.stageOffer(transfer.offer).message, to: peer))
            if !transfer.isActive { out.append(.send(ControlPayload.stageDetach(transferID: id).message, to: peer)) }
        }
        return out
    }

    /// Agent `rank` failed: stop feeding it; if it fed us, attach to another feeder where we stand. The offers
    /// this agent holds are flooded (once each): the failed agent may have held them back from its subtree.
    public mutating func peerFailed(_ failedRank: Int) -> [StagingAction] {
        guard failed.insert(failedRank).inserted else { return [] }
        var out: [StagingAction] = []
        for id in transfers.keys.sorted() { floodOffer(id, except: nil, &out) }
        for id in transfers.keys.sorted() {
            guard var transfer = transfers[id] else { continue }
            transfer.children[failedRank] = nil
            transfers[id] = transfer
            if transfer.feeder == failedRank { refeed(id, avoiding: failedRank, reason: "agent \(failedRank) failed", &out) }
            pump(id, &out)
        }
        return out
    }

    /// Our feeder for `transferID` gave up on it (its own copy failed): find another.
    public mutating func receiveDetach(_ transferID: UInt64, from peer: Int) -> [StagingAction] {
        guard transfers[transferID]?.feeder == peer else { return [] }
        var out: [StagingAction] = []
        refeed(transferID, avoiding: peer, reason: "agent \(peer) could not stage the file", &out)
        return out
    }

    mutating func refeed(_ id: UInt64, avoiding peer: Int, reason: String, _ out: inout [StagingAction]) {
        guard var transfer = transfers[id], !transfer.isSource, !transfer.complete, transfer.isActive else { return }
        transfer.avoid.insert(peer)
        transfer.feeder = chooseFeeder(avoiding: transfer.avoid)
        transfer.lastAck = nil
        transfer.resendRequested = nil
        transfers[id] = transfer
        if transfer.feeder == nil {
            fail(id, "no live agent left to feed node \(rank) (\(reason))", &out)
        } else {
            acknowledge(id, &out)
        }
    }

    /// The tree parent when alive and linked, else the live linked neighbour of lower rank nearest the root
    /// (ties: the highest rank, to spread orphans away from the controller).
    func chooseFeeder(avoiding avoid: Set<Int>) -> Int? {
        let usable = { (peer: Int) in self.links.contains(peer) && !self.failed.contains(peer) && !avoid.contains(peer) }
        if let parent = configuration.tree.parent(of: rank), usable(parent) { return parent }
        let tree = configuration.tree
        return links.filter { $0 < rank && usable($0) }.min { a, b in
            (tree.depth(of: a), -a) < (tree.depth(of: b), -b)
        }
    }

    mutating func applyPendingAttach(_ id: UInt64) {
        guard let pending = pendingAttach.removeValue(forKey: id), var transfer = transfers[id] else { return }
        for (peer, position) in pending where position < transfer.size {
            transfer.children[peer] = .init(next: position, acked: position)
        }
        transfers[id] = transfer
    }

    mutating func fail(_ id: UInt64, _ message: String, _ out: inout [StagingAction]) {
        guard var transfer = transfers[id], transfer.isActive else { return }
        transfer.failure = message
        transfer.buffer = [:]
        checksums[id] = nil
        let children = transfer.children.keys.sorted()
        transfer.children = [:]
        transfers[id] = transfer
        if !transfer.isSource { out.append(.io(.discard(transferID: id))) }
        for child in children where links.contains(child) {
            out.append(.send(ControlPayload.stageDetach(transferID: id).message, to: child))
        }
        report(id, .failed, detail: message, &out)
    }

    mutating func report(_ id: UInt64, _ outcome: StagingReport.Outcome, detail: String, _ out: inout [StagingAction]) {
        guard var transfer = transfers[id], !transfer.reported, !transfer.isSource else { return }
        transfer.reported = true
        transfers[id] = transfer
        let report = StagingReport(node: rank, transferID: id, outcome: outcome, detail: detail)
        out.append(.toController(ControlPayload.staged(report).message))
    }
}
