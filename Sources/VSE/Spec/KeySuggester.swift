/// Finds the valid key a misspelt one was probably meant to be.
enum KeySuggester {
    /// The closest of `candidates` to `key`, if close enough to be a plausible typo or abbreviation.
    static func suggestion(for key: String, among candidates: [String]) -> String? {
        let lowered = key.lowercased()
        if let exact = candidates.first(where: { $0 == lowered }) { return exact }
        var best: (key: String, distance: Int)?
        let length = lowered.unicodeScalars.count
        for candidate in candidates {
            // Lengths more than 3 apart are more than 3 edits apart, farther than any suggestion may be: such a
            // candidate can neither be suggested nor beat one that can (a long unknown key costs no
            // length × length table per candidate).
            if abs(candidate.unicodeScalars.count - length) > 3 { continue }
            let distance = editDistance(lowered, candidate)
            if distance < (best?.distance ?? Int.max) { best = (candidate, distance) }
        }
        if let best, best.distance <= max(1, min(3, best.key.count / 3)) { return best.key }
        if lowered.count >= 3, let expanded = candidates.first(where: { isAbbreviation(lowered, of: $0) }) {
            return expanded
        }
        return nil
    }

    /// Whether `short` is `long` with some letters left out, e.g. `src` for `source`, `env` for `environment`.
    static func isAbbreviation(_ short: String, of long: String) -> Bool {
        var remaining = Substring(long)
        for character in short {
            guard let index = remaining.firstIndex(of: character) else { return false }
            remaining = remaining[remaining.index(after: index)...]
        }
        return true
    }

    /// Levenshtein distance over Unicode scalars, with adjacent transpositions counting as one edit.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.unicodeScalars), b = Array(b.unicodeScalars)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous2 = [Int](repeating: 0, count: b.count + 1)
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    current[j] = min(current[j], previous2[j - 2] + 1)
                }
            }
            (previous2, previous, current) = (previous, current, previous2)
        }
        return previous[b.count]
    }
}
