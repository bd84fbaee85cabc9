/// An undirected link between two ranks, stored with the lower rank first.
public struct Link: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The lower of the two ranks.
    public let lower: Int
    /// The higher of the two ranks.
    public let upper: Int

    /// The link between `a` and `b`, in either order.
    public init(_ a: Int, _ b: Int) {
        lower = min(a, b)
        upper = max(a, b)
    }

    /// Parses `A-B` (e.g. `3-17`).
    public init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, let a = Int(parts[0]), let b = Int(parts[1]) else { return nil }
        self.init(a, b)
    }

    /// The other end of the link seen from `rank`, or nil if `rank` is not an end.
    public func otherEnd(from rank: Int) -> Int? {
        if rank == lower { return upper }
        if rank == upper { return lower }
        return nil
    }

    public static func < (lhs: Link, rhs: Link) -> Bool {
        (lhs.lower, lhs.upper) < (rhs.lower, rhs.upper)
    }

    public var description: String { "\(lower)-\(upper)" }
}
