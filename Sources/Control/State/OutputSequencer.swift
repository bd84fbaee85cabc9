import Wire

/// Puts forwarded output back in order per (task, stream) using the sequence numbers the tool agents stamp,
/// holding back anything that arrives early, so nothing is printed twice, out of order, or lost silently.
public struct OutputSequencer: Sendable {
    private struct Key: Hashable, Sendable {
        var task: UInt32
        var stream: IOStream
    }

    private var next: [Key: UInt64] = [:]
    private var held: [Key: [UInt64: Wire.IOData]] = [:]

    public init() {}

    /// Accepts one chunk; returns the chunks now deliverable, in order (possibly none, possibly several).
    public mutating func accept(_ data: Wire.IOData) -> [Wire.IOData] {
        let key = Key(task: data.task, stream: data.stream)
        let expected = next[key, default: 0]
        guard data.sequence >= expected else { return [] }
        guard data.sequence == expected else {
            held[key, default: [:]][data.sequence] = data
            return []
        }
        var ready = [data]
        var sequence = expected + 1
        while let more = held[key]?.removeValue(forKey: sequence) {
            ready.append(more)
            sequence += 1
        }
        next[key] = sequence
        return ready
    }

    /// How many chunks of `task`'s `stream` have been put in order.
    public func delivered(task: UInt32, stream: IOStream) -> UInt64 {
        next[Key(task: task, stream: stream)] ?? 0
    }

    /// Chunks held back because an earlier one never came.
    public var heldCount: Int { held.values.reduce(0) { $0 + $1.count } }
}
