/// The ranks and links known to have failed. Every agent that holds the same failure set computes the
/// same routes.
public struct FailureSet: Sendable, Hashable {
    /// Failed ranks.
    public private(set) var nodes: Set<Int>
    /// Failed links (a link to a failed rank is unusable whether or not it is listed here).
    public private(set) var links: Set<Link>

    /// No failures.
    public static let none = FailureSet()

    /// A failure set with the given failed ranks and links.
    public init(nodes: some Sequence<Int> = [Int](), links: some Sequence<Link> = [Link]()) {
        self.nodes = Set(nodes)
        self.links = Set(links)
    }

    /// Marks `rank` failed; returns whether it was new.
    @discardableResult
    public mutating func fail(node rank: Int) -> Bool {
        nodes.insert(rank).inserted
    }

    /// Marks `link` failed; returns whether it was new.
    @discardableResult
    public mutating func fail(link: Link) -> Bool {
        links.insert(link).inserted
    }

    /// Marks `link` usable again (a closed connection that was re-established); returns whether it was listed.
    @discardableResult
    public mutating func restore(link: Link) -> Bool {
        links.remove(link) != nil
    }

    /// Whether nothing has failed.
    public var isEmpty: Bool { nodes.isEmpty && links.isEmpty }

    /// Failed ranks, ascending.
    public var sortedNodes: [Int] { nodes.sorted() }

    /// Failed links, ascending.
    public var sortedLinks: [Link] { links.sorted() }

    /// Whether `rank` has failed.
    public func hasFailed(node rank: Int) -> Bool { nodes.contains(rank) }

    /// Whether a message can cross from `a` to `b`: both ranks alive and the link not failed.
    /// (It does not check that the link exists in a graph.)
    public func allowsHop(from a: Int, to b: Int) -> Bool {
        !nodes.contains(b) && !nodes.contains(a) && (links.isEmpty || !links.contains(Link(a, b)))
    }

    /// Throws if a failed rank or link end is outside `0..<nodeCount`, or a link joins a rank to itself.
    public func validate(nodeCount: Int) throws(TopologyError) {
        for rank in nodes where !(0..<nodeCount).contains(rank) {
            throw .rankOutOfRange(rank: rank, nodeCount: nodeCount)
        }
        for link in links {
            if link.lower == link.upper { throw .selfLink(rank: link.lower) }
            if link.lower < 0 { throw .rankOutOfRange(rank: link.lower, nodeCount: nodeCount) }
            if link.upper >= nodeCount { throw .rankOutOfRange(rank: link.upper, nodeCount: nodeCount) }
        }
    }

    /// `count` distinct ranks of `0..<nodeCount` chosen uniformly with `generator`, never one in `sparing`
    /// (by default rank 0, the controller). Deterministic for a given generator state.
    public static func random(
        count: Int,
        nodeCount: Int,
        sparing: Set<Int> = [0],
        using generator: inout SplitMix64
    ) throws(TopologyError) -> FailureSet {
        let candidates = (0..<nodeCount).filter { !sparing.contains($0) }
        guard count >= 0, count <= candidates.count else {
            throw .tooManyFailures(requested: count, available: candidates.count)
        }
        var pool = candidates
        // Partial Fisher–Yates: the first `count` positions become a uniform sample.
        for index in 0..<count {
            let pick = index + generator.uniform(below: pool.count - index)
            pool.swapAt(index, pick)
        }
        return FailureSet(nodes: pool[0..<count])
    }
}
