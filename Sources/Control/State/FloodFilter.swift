/// Deduplication for flooded broadcasts: every agent forwards a message the first time it sees its key and
/// drops later copies, so a broadcast crosses each surviving link at most twice and reaches every agent the
/// surviving graph still connects.
public struct FloodFilter: Sendable {
    /// What identifies one broadcast.
    public enum Key: Hashable, Sendable {
        case launch(UInt64)
        case control(UInt64)
        case failure(rank: Int)
        case pmiRelease(epoch: Int, part: Int)
    }

    private var seen: Set<Key> = []

    public init() {}

    /// True the first time `key` is offered, false afterwards.
    public mutating func firstSighting(_ key: Key) -> Bool {
        seen.insert(key).inserted
    }
}
