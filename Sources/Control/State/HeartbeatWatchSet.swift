import Topology

/// Which links the ping-pong detector watches: the boot-tree links and the binomial graph's nearest ring
/// links (±1, ±2 mod N). The relation is symmetric, so both ends of a watched link ping; every agent has at
/// least four watchers (fewer in tiny jobs), so a hung agent goes unnoticed only if all of them failed too,
/// and the detector costs a fixed number of messages per agent instead of one growing with log N. Dead
/// agents are caught on every link by the connection-close detector.
public enum HeartbeatWatchSet {
    /// Whether `rank` watches its link to `peer` in a job of `rankCount` ranks booted over `tree`.
    public static func watches(_ rank: Int, _ peer: Int, tree: BootTree, rankCount: Int) -> Bool {
        if tree.parent(of: rank) == peer || tree.parent(of: peer) == rank { return true }
        let distance = ((peer - rank) % rankCount + rankCount) % rankCount
        return distance == 1 || distance == 2 || distance == rankCount - 1 || distance == rankCount - 2
    }
}
