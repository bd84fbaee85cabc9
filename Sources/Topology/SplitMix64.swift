/// A small, fast, seeded random number generator (SplitMix64, Steele, Lea and Flood 2014).
///
/// Its sequence depends only on the seed, never on the Swift version, so failure scenarios built from a
/// seed are the same on every machine.
public struct SplitMix64: RandomNumberGenerator, Sendable, Hashable {
    /// The internal state, advanced by a fixed odd constant on every draw.
    public private(set) var state: UInt64

    /// A generator starting from `seed`.
    public init(seed: UInt64) {
        state = seed
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform integer in `0..<bound` (bound ≥ 1), without modulo bias: draws whose 128-bit product
    /// falls in the biased low zone are rejected and redrawn.
    public mutating func uniform(below bound: Int) -> Int {
        precondition(bound > 0, "uniform(below:) needs a positive bound")
        let range = UInt64(bound)
        let threshold = (0 &- range) % range  // 2^64 mod range
        while true {
            let (high, low) = next().multipliedFullWidth(by: range)
            if low >= threshold { return Int(high) }
        }
    }

    /// A uniform Double in `0..<1` with 53 random bits.
    public mutating func unitInterval() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }
}
