/// How `tasks` tasks spread over `nodes` nodes (Slurm's block distribution): the first `tasks % nodes` nodes
/// get one more; ranks are consecutive per node.
public struct TaskLayout: Sendable, Hashable {
    public let tasks: Int
    public let nodes: Int

    public init(tasks: Int, nodes: Int) {
        precondition(nodes > 0 && tasks >= 0)
        self.tasks = tasks
        self.nodes = nodes
    }

    /// Number of tasks on the node with 0-based index `node`.
    public func taskCount(onNode node: Int) -> Int {
        tasks / nodes + (node < tasks % nodes ? 1 : 0)
    }

    /// The global rank of the node's first task.
    public func firstRank(onNode node: Int) -> Int {
        node * (tasks / nodes) + min(node, tasks % nodes)
    }

    /// Global task ranks on the node.
    public func ranks(onNode node: Int) -> Range<Int> {
        let first = firstRank(onNode: node)
        return first..<(first + taskCount(onNode: node))
    }

    /// The 0-based node index that runs `rank`.
    public func node(ofRank rank: Int) -> Int {
        var low = 0
        var high = nodes - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if firstRank(onNode: middle) <= rank { low = middle } else { high = middle - 1 }
        }
        return low
    }
}
