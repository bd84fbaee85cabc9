/// Why a topology, failure set or placement could not be built.
///
/// Each case carries the offending value so a front-end can print one clear line.
public enum TopologyError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A topology needs at least one rank.
    case invalidNodeCount(Int)
    /// Ranks are stored as 32-bit integers.
    case nodeCountTooLarge(nodeCount: Int, limit: Int)
    /// A k-ary tree needs k ≥ 1 (k = 1 is a chain).
    case invalidArity(Int)
    /// The kind string did not name a known topology.
    case unknownKind(String)
    /// A rank is outside `0..<nodeCount`.
    case rankOutOfRange(rank: Int, nodeCount: Int)
    /// A link joins a rank to itself.
    case selfLink(rank: Int)
    /// A full mesh this large would not fit in memory.
    case meshTooLarge(nodeCount: Int, limit: Int)
    /// More ranks were asked to fail than can fail.
    case tooManyFailures(requested: Int, available: Int)
    /// A job placement needs a tree to boot over (k-ary or binomial).
    case bootTopologyNotATree(TopologyKind)
    /// A negative number of tool agents per node.
    case invalidToolCount(Int)

    public var description: String {
        switch self {
        case .invalidNodeCount(let n):
            return "node count must be at least 1 (got \(n))"
        case .nodeCountTooLarge(let n, let limit):
            return "node count \(n) is too large (at most \(limit))"
        case .invalidArity(let k):
            return "tree arity must be at least 1 (got \(k)); use tree:1 for a chain, tree:2 for a binary tree"
        case .unknownKind(let text):
            return "unknown topology kind '\(text)' (expected tree:K, binomial, bmg, mesh or ring)"
        case .rankOutOfRange(let rank, let n):
            return "rank \(rank) is out of range: ranks are 0..\(n - 1) for \(n) nodes"
        case .selfLink(let rank):
            return "a link must join two different ranks (got \(rank)-\(rank))"
        case .meshTooLarge(let n, let limit):
            return "a full mesh of \(n) nodes is too large (at most \(limit) nodes)"
        case .tooManyFailures(let requested, let available):
            return "cannot fail \(requested) ranks: only \(available) can fail"
        case .bootTopologyNotATree(let kind):
            return "a job boots over a tree (tree:K or binomial), not '\(kind)'"
        case .invalidToolCount(let count):
            return "tool agents per node must be 0 or more (got \(count))"
        }
    }
}
