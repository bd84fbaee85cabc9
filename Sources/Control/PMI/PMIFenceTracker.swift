/// The controller's half of PMI's key-value exchange over the tree: each node sends one fence per epoch
/// with its tasks' puts (``ControlPayload/pmiFence(node:epoch:entries:)``); once every node that runs tasks
/// is in, the merged puts go back down to every node in one flood. So a fence costs each node one message
/// up and one down, whatever the number of tasks.
public struct PMIFenceTracker: Sendable, Hashable {
    /// Agent ranks of the nodes that run tasks.
    public let nodes: Set<Int>
    private var arrived: [Int: [Int: [PMIEntry]]] = [:]

    public init(nodes: Set<Int>) {
        self.nodes = nodes
    }

    /// Records node `rank`'s fence; returns every node's entries (in node order) when it completes the
    /// epoch. `failed` nodes are not waited for.
    public mutating func fence(from rank: Int, epoch: Int, entries: [PMIEntry], failed: Set<Int> = []) -> [PMIEntry]? {
        guard nodes.contains(rank) else { return nil }
        arrived[epoch, default: [:]][rank] = entries
        return complete(epoch, failed: failed)
    }

    /// Re-checks every open epoch after a failure; returns the epochs that completed, with their entries.
    public mutating func nodesFailed(_ failed: Set<Int>) -> [(epoch: Int, entries: [PMIEntry])] {
        arrived.keys.sorted().compactMap { epoch in complete(epoch, failed: failed).map { (epoch, $0) } }
    }

    private mutating func complete(_ epoch: Int, failed: Set<Int>) -> [PMIEntry]? {
        guard let byNode = arrived[epoch], nodes.subtracting(failed).isSubset(of: byNode.keys) else { return nil }
        arrived[epoch] = nil
        return byNode.keys.sorted().flatMap { byNode[$0]! }
    }
}
