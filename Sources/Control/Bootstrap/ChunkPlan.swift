import Topology

/// Which boot-tree ranks one agent process hosts and how the ranks below are split into child processes.
///
/// A process hosts a forest: one or more subtree roots (each with its parent agent in the starting
/// process), filled breadth-first up to `capacity` agents. The ranks just below the hosted ones become
/// roots of child processes, packed so each child process again holds about `capacity` agents: a root whose
/// subtree is larger gets a process of its own; small subtrees (the ragged last levels of a tree) share one.
/// With capacity 1 the process tree is the boot tree itself; larger capacities give `--agents-per-process`
/// for scale runs with the same code paths — every agent still talks to its parent over TCP and the Wire
/// handshake.
public struct ChunkPlan: Sendable, Hashable {
    /// Ranks hosted in this process, breadth-first from the roots.
    public let hosted: [Int]
    /// Roots of the child processes this process starts, one array per process.
    public let childGroups: [[Int]]

    /// `childCapacity` (default `capacity`) sizes the child processes (the front-end hosts only the controller
    /// but packs its agent processes like any other).
    public init(tree: BootTree, roots: [Int], capacity: Int, childCapacity: Int? = nil) {
        let capacity = max(1, capacity)
        let childCapacity = max(1, childCapacity ?? capacity)
        var hosted: [Int] = []
        var frontier: [Int] = []
        var queue = roots
        var next = 0
        while next < queue.count {
            let rank = queue[next]
            let isRoot = next < roots.count
            next += 1
            if hosted.count < capacity || isRoot {
                hosted.append(rank)
                queue += tree.children(of: rank)
            } else {
                frontier.append(rank)
            }
        }
        var groups: [[Int]] = []
        var current: [Int] = []
        var currentSize = 0
        for root in frontier {
            let size = Self.subtreeSize(of: root, in: tree, limit: childCapacity + 1)
            if !current.isEmpty && currentSize + size > childCapacity {
                groups.append(current)
                current = []
                currentSize = 0
            }
            current.append(root)
            currentSize += size
        }
        if !current.isEmpty { groups.append(current) }
        self.hosted = hosted
        self.childGroups = groups
    }

    /// Ranks in the subtree below `root` (itself included), counting no further than `limit`.
    static func subtreeSize(of root: Int, in tree: BootTree, limit: Int) -> Int {
        var count = 0
        var stack = [root]
        while let rank = stack.popLast(), count < limit {
            count += 1
            stack += tree.children(of: rank)
        }
        return count
    }
}

extension ChunkPlan {
    /// The agent ranks each agent process of a job hosts, front-end first (rank 0 alone), as the front-end
    /// and every agent process split the boot tree: every process can tell which agents share a process
    /// with which (the PMIx server, one per process, serves them together).
    public static func processes(tree: BootTree, agentsPerProcess: Int) -> [[Int]] {
        var result: [[Int]] = [[0]]
        var pending = ChunkPlan(tree: tree, roots: [0], capacity: 1, childCapacity: agentsPerProcess).childGroups
        while let roots = pending.popLast() {
            let plan = ChunkPlan(tree: tree, roots: roots, capacity: agentsPerProcess)
            result.append(plan.hosted)
            pending += plan.childGroups
        }
        return result
    }
}
