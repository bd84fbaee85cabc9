/// The diameter of a connected set of ranks: exact, or bounded when an exact answer would cost too much.
public struct Diameter: Sendable, Hashable, CustomStringConvertible {
    /// A proven lower bound (the largest distance actually found).
    public let lowerBound: Int
    /// A proven upper bound.
    public let upperBound: Int

    /// The exact diameter `value`.
    public init(exactly value: Int) {
        lowerBound = value
        upperBound = value
    }

    /// A diameter known to lie in `lowerBound...upperBound`.
    public init(lowerBound: Int, upperBound: Int) {
        self.lowerBound = lowerBound
        self.upperBound = upperBound
    }

    /// Whether the bounds meet.
    public var isExact: Bool { lowerBound == upperBound }

    /// The diameter, if known exactly.
    public var exactValue: Int? { isExact ? lowerBound : nil }

    public var description: String {
        isExact ? "\(lowerBound)" : "\(lowerBound)...\(upperBound)"
    }
}
