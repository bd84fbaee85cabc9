/// Which sequence numbers of one sender have been seen: the highest, and a 64-bit map of the ones just below
/// it (IPsec's anti-replay window). A datagram is accepted once; older than the window, it is refused.
struct ReplayWindow: Sendable, Equatable {
    static let width: UInt64 = 64
    private(set) var highest: UInt64 = 0
    private var seen: UInt64 = 0  // bit i: highest - i was accepted

    /// True (and remembered) the first time `sequence` comes within the window; false for a replay, a
    /// sequence number too old for the window, or 0 (never sent).
    mutating func accept(_ sequence: UInt64) -> Bool {
        guard sequence > 0 else { return false }
        if sequence > highest {
            let shift = sequence - highest
            seen = shift >= Self.width ? 1 : (seen << shift) | 1
            highest = sequence
            return true
        }
        let age = highest - sequence
        guard age < Self.width else { return false }
        let bit: UInt64 = 1 << age
        if seen & bit != 0 { return false }
        seen |= bit
        return true
    }
}
