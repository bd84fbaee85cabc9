/// The controller's half of PMI's key-value exchange over the tree: each node sends one fence per epoch
/// with its tasks' puts (``ControlPayload/pmiFence(node:epoch:entries:)``); once every node that runs tasks
/// is in, the merged puts go back down to every node in one flood. So a fence costs each node one message
/// up and one down, whatever the number of tasks.
///
/// With `lenientAfter`, an epoch whose fences so far carry no puts is released that long after its first
/// fence even if nodes are missing (see NodeAgent's `PMINodeServer.Configuration.lenientAfter`).
///
/// A fence carrying ``PMIFenceLoss`` breaks the job's fences: every open epoch is released at once with the
/// loss, and so is every later fence (see ``PMIFenceLoss``).
public struct PMIFenceTracker: Sendable, Hashable {
    /// Agent ranks of the nodes that run tasks.
    public let nodes: Set<Int>
    public let lenientAfter: Duration?
    private var arrived: [Int: [Int: [PMIEntry]]] = [:]
    private var opened: [Int: Duration] = [:]
    /// Every epoch up to this one is released; a late fence for one of them is ignored.
    private var releasedThrough = -1
    /// Puts of late fences for epochs released early: they go down with the next release.
    private var carried: [PMIEntry] = []
    /// The loss that broke the job's fences, if one did.
    public private(set) var loss: PMIEntry?

    public init(nodes: Set<Int>, lenientAfter: Duration? = nil) {
        self.nodes = nodes
        self.lenientAfter = lenientAfter
    }

    /// Records node `rank`'s fence; returns the epochs it releases with their entries: this one, with every
    /// node's entries in node order, once every node is in (`failed` nodes are not waited for); after a
    /// loss, every epoch still open, with the loss.
    public mutating func fence(from rank: Int, epoch: Int, entries: [PMIEntry], failed: Set<Int> = [],
                               now: Duration = .zero) -> [(epoch: Int, entries: [PMIEntry])] {
        guard nodes.contains(rank) else { return [] }
        if loss == nil, let lost = PMIFenceLoss(entries: entries) {
            loss = lost.entry
            // An epoch to carry the news even if none is open: one never released (releases are flooded
            // once per epoch), which no node waits for (a loss completes whatever a node waits for).
            if arrived.isEmpty { arrived[max(epoch, releasedThrough + 1)] = [:] }
            return arrived.keys.sorted().map { ($0, take($0)) }
        }
        guard epoch > releasedThrough else {
            carried += entries
            return []
        }
        if arrived[epoch] == nil { opened[epoch] = now }
        arrived[epoch, default: [:]][rank] = entries
        return loss != nil || complete(epoch, failed: failed) ? [(epoch, take(epoch))] : []
    }

    /// Re-checks every open epoch after a failure; returns the epochs that completed, with their entries.
    public mutating func nodesFailed(_ failed: Set<Int>) -> [(epoch: Int, entries: [PMIEntry])] {
        arrived.keys.sorted().compactMap { epoch in complete(epoch, failed: failed) ? (epoch, take(epoch)) : nil }
    }

    /// Epochs released early at `now`: open that long, and no fence so far with a put.
    public mutating func tick(now: Duration) -> [(epoch: Int, entries: [PMIEntry])] {
        guard let lenientAfter else { return [] }
        return arrived.keys.sorted().compactMap { epoch in
            guard let since = opened[epoch], now - since >= lenientAfter,
                  arrived[epoch]!.values.allSatisfy(\.isEmpty) else { return nil }
            return (epoch, take(epoch))
        }
    }

    private func complete(_ epoch: Int, failed: Set<Int>) -> Bool {
        guard let byNode = arrived[epoch] else { return false }
        return nodes.subtracting(failed).isSubset(of: byNode.keys)
    }

    private mutating func take(_ epoch: Int) -> [PMIEntry] {
        let byNode = arrived.removeValue(forKey: epoch) ?? [:]
        opened[epoch] = nil
        releasedThrough = max(releasedThrough, epoch)
        defer { carried.removeAll() }
        if let loss { return [loss] }
        return carried + byNode.keys.sorted().flatMap { byNode[$0]! }
    }
}
