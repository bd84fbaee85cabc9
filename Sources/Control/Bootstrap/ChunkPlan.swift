import Topology

/// Which boot-tree ranks one agent process hosts (the subtree below `root`, `depth` levels deep) and which
/// child processes it starts (one per subtree just below). With depth 0 each process is one agent and the
/// process tree is the boot tree itself; deeper chunks give `--agents-per-process` for scale runs with the
/// same code paths — every agent still talks to its parent over TCP and the Wire handshake.
public struct ChunkPlan: Sendable, Hashable {
    /// Ranks hosted in this process, root first (breadth-first).
    public let hosted: [Int]
    /// Roots of the chunks this process starts.
    public let childRoots: [Int]

    public init(tree: BootTree, root: Int, depth: Int) {
        var hosted: [Int] = []
        var childRoots: [Int] = []
        var frontier = [root]
        var level = 0
        while !frontier.isEmpty {
            hosted += frontier
            let next = frontier.flatMap { tree.children(of: $0) }
            if level == depth {
                childRoots = next
                break
            }
            frontier = next
            level += 1
        }
        self.hosted = hosted
        self.childRoots = childRoots
    }
}
