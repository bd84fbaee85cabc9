import ArgumentParser
import Topology

/// Parses the failure options of `vhpc topology`.
enum FailureListParser {
    /// `3,17,5-9` → ranks 3 and 17, link 5–9.
    static func parse(_ text: String) throws -> FailureSet {
        var failures = FailureSet.none
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let token = String(item.filter { !$0.isWhitespace })
            if let rank = Int(token) {
                guard rank >= 0 else { throw ValidationError("--fail: rank \(rank) is negative") }
                failures.fail(node: rank)
            } else if let link = Link(token) {
                failures.fail(link: link)
            } else {
                throw ValidationError("--fail: '\(token)' is neither a rank (e.g. 7) nor a link (e.g. 3-9)")
            }
        }
        return failures
    }

    /// The number of ranks `--fail-random value` fails among `nodeCount` ranks: a fraction below 1, a count from 1.
    static func randomCount(_ value: Double, nodeCount: Int) throws -> Int {
        guard value.isFinite, value >= 0 else {
            throw ValidationError("--fail-random must be a fraction in [0, 1) or a whole count >= 1 (got \(value))")
        }
        let count: Int
        if value < 1 {
            count = Int((value * Double(nodeCount)).rounded())
        } else {
            guard value == value.rounded(), value <= Double(Int.max) else {
                throw ValidationError("--fail-random \(value): values >= 1 are counts and must be whole numbers")
            }
            count = Int(value)
        }
        guard count <= nodeCount - 1 else {
            let shown = value == value.rounded() && value < 1e15 ? "\(Int(value))" : "\(value)"
            throw ValidationError("--fail-random \(shown) asks for \(count) failures but only \(nodeCount - 1) ranks besides rank 0 can fail")
        }
        return count
    }
}
