/// The shape of a logical network over ranks `0..<n` (rank 0 is the controller).
///
/// Text form (used by the CLI): `tree:K` (k-ary tree; `tree` alone is binary, `tree:1` a chain),
/// `binomial` (binomial tree), `bmg` (binomial graph), `mesh` (full mesh), `ring`.
public enum TopologyKind: Sendable, Hashable, CustomStringConvertible, LosslessStringConvertible {
    /// k-ary tree: the parent of rank r > 0 is (r − 1) / k. k = 2 is the paper's boot tree; k = 1 a chain.
    case tree(arity: Int)
    /// Binomial tree: the parent of rank r > 0 is r with its lowest set bit cleared.
    case binomialTree
    /// Binomial graph (Angskun, Bosilca, Dongarra): rank i is linked to i ± 2^j mod n for every 2^j < n.
    case binomialGraph
    /// Every rank linked to every other.
    case mesh
    /// Rank i linked to i ± 1 mod n.
    case ring

    /// The largest full mesh `makeGraph` builds (its adjacency grows with n²).
    public static let maximumMeshNodeCount = 4096

    /// Parses the text form; returns nil for anything else (see ``parse(_:)`` for the reason).
    public init?(_ description: String) {
        guard let kind = try? Self.parse(description) else { return nil }
        self = kind
    }

    /// Parses the text form, throwing an error that names what was wrong.
    public static func parse(_ text: String) throws(TopologyError) -> TopologyKind {
        let lowered = text.lowercased()
        switch lowered {
        case "tree", "binary": return .tree(arity: 2)
        case "chain": return .tree(arity: 1)
        case "binomial", "binomial-tree": return .binomialTree
        case "bmg", "binomial-graph": return .binomialGraph
        case "mesh", "full-mesh": return .mesh
        case "ring": return .ring
        default: break
        }
        let prefix = "tree:"
        guard lowered.hasPrefix(prefix) else { throw .unknownKind(text) }
        guard let arity = Int(lowered.dropFirst(prefix.count)) else { throw .unknownKind(text) }
        guard arity >= 1 else { throw .invalidArity(arity) }
        return .tree(arity: arity)
    }

    public var description: String {
        switch self {
        case .tree(let arity): return "tree:\(arity)"
        case .binomialTree: return "binomial"
        case .binomialGraph: return "bmg"
        case .mesh: return "mesh"
        case .ring: return "ring"
        }
    }

    /// Whether the kind is a rooted tree (k-ary or binomial).
    public var isTree: Bool {
        switch self {
        case .tree, .binomialTree: return true
        case .binomialGraph, .mesh, .ring: return false
        }
    }

    /// The rooted tree of this kind over `nodeCount` ranks, or nil for kinds that are not trees.
    public func bootTree(nodeCount: Int) -> BootTree? {
        switch self {
        case .tree(let arity):
            guard let tree = try? KAryTree(arity: arity, nodeCount: nodeCount) else { return nil }
            return .kAry(tree)
        case .binomialTree:
            guard let tree = try? BinomialTree(nodeCount: nodeCount) else { return nil }
            return .binomial(tree)
        case .binomialGraph, .mesh, .ring:
            return nil
        }
    }

    /// Builds the graph of this kind over `nodeCount` ranks.
    public func makeGraph(nodeCount: Int) throws(TopologyError) -> Graph {
        try Graph.validate(nodeCount: nodeCount)
        switch self {
        case .tree(let arity):
            return try KAryTree(arity: arity, nodeCount: nodeCount).graph()
        case .binomialTree:
            return try BinomialTree(nodeCount: nodeCount).graph()
        case .binomialGraph:
            return try BinomialGraph(nodeCount: nodeCount).graph()
        case .mesh:
            guard nodeCount <= Self.maximumMeshNodeCount else {
                throw .meshTooLarge(nodeCount: nodeCount, limit: Self.maximumMeshNodeCount)
            }
            return Graph.mesh(nodeCount: nodeCount)
        case .ring:
            return Graph.ring(nodeCount: nodeCount)
        }
    }
}
