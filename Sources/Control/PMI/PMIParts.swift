/// PMI fence data cut into frames of bounded size, and put together again, sans I/O. A fence or a release
/// travels as one message per part, each at most ``budget`` bytes of entries, so a job's exchange is not
/// limited by Wire's frame size (2 MiB: about 1,500 ranks of MPICH business cards, or 350 of Open MPI's
/// modex, in one frame).
public struct PMIParts: Sendable, Hashable {
    /// Bytes of entries per part: half a frame, leaving room for the envelope.
    public static let budget = 1 << 20

    /// `entries` in parts of at most `budget` bytes each (an entry is never cut; at least one part).
    public static func split(_ entries: [PMIEntry], budget: Int = budget) -> [[PMIEntry]] {
        var parts: [[PMIEntry]] = [[]]
        var size = 0
        for entry in entries {
            if size + entry.encodedSize > budget, !parts[parts.count - 1].isEmpty {
                parts.append([])
                size = 0
            }
            parts[parts.count - 1].append(entry)
            size += entry.encodedSize
        }
        return parts
    }

    private struct Key: Hashable {
        var source: Int
        var epoch: Int
    }

    private var partial: [Key: [Int: [PMIEntry]]] = [:]

    public init() {}

    /// Records part `part` of `parts` of `source`'s message for `epoch`; returns all its entries, in part
    /// order, once every part is in. A part seen before, or one out of range, is ignored.
    public mutating func add(source: Int, epoch: Int, part: Int, parts: Int, entries: [PMIEntry]) -> [PMIEntry]? {
        guard parts > 1 else { return part == 0 ? entries : nil }
        guard part >= 0, part < parts else { return nil }
        let key = Key(source: source, epoch: epoch)
        var pieces = partial[key, default: [:]]
        guard pieces[part] == nil else { return nil }
        pieces[part] = entries
        guard pieces.count == parts else {
            partial[key] = pieces
            return nil
        }
        partial[key] = nil
        return (0..<parts).flatMap { pieces[$0]! }
    }
}
