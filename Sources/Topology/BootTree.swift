/// The rooted tree agents boot over: a k-ary tree or a binomial tree, rooted at rank 0 (the controller).
///
/// The Control layer uses ``parent(of:)`` for the bootstrap handshake and ``children(of:)`` to fan out.
public enum BootTree: Sendable, Hashable {
    /// A k-ary tree (binary in the paper).
    case kAry(KAryTree)
    /// A binomial tree.
    case binomial(BinomialTree)

    /// The boot tree of `kind`; throws if `kind` is not a tree or the node count is invalid.
    public init(kind: TopologyKind, nodeCount: Int) throws(TopologyError) {
        switch kind {
        case .tree(let arity): self = .kAry(try KAryTree(arity: arity, nodeCount: nodeCount))
        case .binomialTree: self = .binomial(try BinomialTree(nodeCount: nodeCount))
        case .binomialGraph, .mesh, .ring: throw .bootTopologyNotATree(kind)
        }
    }

    /// The kind this tree was built from.
    public var kind: TopologyKind {
        switch self {
        case .kAry(let tree): return .tree(arity: tree.arity)
        case .binomial: return .binomialTree
        }
    }

    /// Number of ranks.
    public var nodeCount: Int {
        switch self {
        case .kAry(let tree): return tree.nodeCount
        case .binomial(let tree): return tree.nodeCount
        }
    }

    /// The parent of `rank`, or nil for the root.
    public func parent(of rank: Int) -> Int? {
        switch self {
        case .kAry(let tree): return tree.parent(of: rank)
        case .binomial(let tree): return tree.parent(of: rank)
        }
    }

    /// The children of `rank`, ascending.
    public func children(of rank: Int) -> [Int] {
        switch self {
        case .kAry(let tree): return Array(tree.children(of: rank))
        case .binomial(let tree): return tree.children(of: rank)
        }
    }

    /// Number of links between `rank` and the root.
    public func depth(of rank: Int) -> Int {
        switch self {
        case .kAry(let tree): return tree.depth(of: rank)
        case .binomial(let tree): return tree.depth(of: rank)
        }
    }

    /// Largest depth of any rank.
    public var height: Int {
        switch self {
        case .kAry(let tree): return tree.height
        case .binomial(let tree): return tree.height
        }
    }

    /// The tree as a graph.
    public func graph() -> Graph {
        switch self {
        case .kAry(let tree): return tree.graph()
        case .binomial(let tree): return tree.graph()
        }
    }

    /// Whether `descendant` lies in the subtree rooted at `ancestor` (a rank is in its own subtree).
    public func isInSubtree(_ descendant: Int, of ancestor: Int) -> Bool {
        var current: Int? = descendant
        while let rank = current {
            if rank == ancestor { return true }
            if rank < ancestor { return false }  // parents always have lower ranks than their children
            current = parent(of: rank)
        }
        return false
    }

    /// The tree path from `source` to `destination`, both included: up to their lowest common ancestor, then down.
    public func path(from source: Int, to destination: Int) -> [Int] {
        var up: [Int] = [source]
        var down: [Int] = [destination]
        var a = source
        var b = destination
        while a != b {
            // The larger rank is never an ancestor of the smaller one, so step it up.
            if a > b {
                a = parent(of: a)!
                up.append(a)
            } else {
                b = parent(of: b)!
                down.append(b)
            }
        }
        down.removeLast()
        return up + down.reversed()
    }

    /// The next rank on the tree path from `source` to `destination`, or nil when they are equal.
    public func nextHop(from source: Int, to destination: Int) -> Int? {
        guard source != destination else { return nil }
        if destination > source, isInSubtree(destination, of: source) {
            var child = destination
            while let parent = parent(of: child), parent != source { child = parent }
            return child
        }
        return parent(of: source)
    }
}
