/// Slurm-style host lists: `node[01-04],gpu7`, `n[1-3,7]`, `rack[1-2]-n[01-02]` (brackets multiply),
/// zero padding kept from the range's first bound. Hostfiles: one host per line, `#` comments,
/// optional `slots=N` (repeats the host N times, as with mpirun).
public enum Hostlist {
    /// The largest expansion accepted (Slurm's node limit), so a typo like `n[1-1000000]` fails at once
    /// instead of building a job of a million agents.
    public static let maximumHosts = 65_536

    public static func expand(_ text: String) throws(HostlistError) -> [String] {
        var hosts: [String] = []
        for item in try splitTopLevel(text) {
            hosts += try expandItem(item, in: text)
            if hosts.count > maximumHosts { throw .tooMany(text, maximumHosts) }
        }
        if hosts.isEmpty { throw .empty }
        return hosts
    }

    /// Parses hostfile contents (`host`, `host slots=4`, comments, blank lines).
    public static func parseHostfile(_ contents: String, path: String) throws(HostlistError) -> [String] {
        var hosts: [String] = []
        for (index, rawLine) in contents.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let name = words.first else { continue }
            var slots = 1
            for word in words.dropFirst() {
                if word.hasPrefix("slots="), let n = Int(word.dropFirst(6)), n >= 1 {
                    slots = n
                } else {
                    throw .badHostfileLine(path: path, line: index + 1, String(rawLine))
                }
            }
            let expanded: [String]
            do { expanded = try expand(String(name)) } catch { throw .badHostfileLine(path: path, line: index + 1, String(rawLine)) }
            for host in expanded { hosts += Array(repeating: host, count: slots) }
        }
        if hosts.isEmpty { throw .empty }
        return hosts
    }

    /// Splits on commas outside brackets.
    static func splitTopLevel(_ text: String) throws(HostlistError) -> [Substring] {
        var items: [Substring] = []
        var depth = 0
        var start = text.startIndex
        for index in text.indices {
            switch text[index] {
            case "[":
                depth += 1
                if depth > 1 { throw .syntax(text, "nested '['") }
            case "]":
                depth -= 1
                if depth < 0 { throw .syntax(text, "']' without '['") }
            case ",":
                if depth == 0 {
                    items.append(text[start..<index])
                    start = text.index(after: index)
                }
            default: break
            }
        }
        if depth != 0 { throw .syntax(text, "'[' without ']'") }
        items.append(text[start...])
        return items.filter { !$0.trimmingSpaces.isEmpty }.map { $0.trimmingSpaces }
    }

    /// `prefix[ranges]suffix…` → every combination, left bracket varying slowest.
    static func expandItem(_ item: Substring, in text: String) throws(HostlistError) -> [String] {
        guard let open = item.firstIndex(of: "[") else {
            try validateName(item, in: text)
            return [String(item)]
        }
        guard let close = item[open...].firstIndex(of: "]") else { throw .syntax(text, "'[' without ']'") }
        let prefix = item[..<open]
        let suffixes = try expandItem(item[item.index(after: close)...], in: text)
        var result: [String] = []
        for value in try expandRanges(item[item.index(after: open)..<close], in: text) {
            for suffix in suffixes {
                let host = String(prefix) + value + suffix
                result.append(host)
            }
            if result.count > maximumHosts { throw .tooMany(text, maximumHosts) }
        }
        if !prefix.isEmpty { try validateName(prefix, in: text) }
        return result
    }

    static func expandRanges(_ body: Substring, in text: String) throws(HostlistError) -> [String] {
        var values: [String] = []
        for part in body.split(separator: ",", omittingEmptySubsequences: false) {
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false)
            guard (1...2).contains(bounds.count), bounds.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCIIDigit) }) else {
                throw .syntax(text, "bad range '\(part)' (expected N or N-M)")
            }
            guard bounds.allSatisfy({ $0.count <= 9 }), let low = Int(bounds[0]), let high = Int(bounds.last!) else {
                throw .syntax(text, "range '\(part)' is too large")
            }
            if low > high { throw .syntax(text, "range '\(part)' goes backwards") }
            if high - low >= maximumHosts { throw .tooMany(text, maximumHosts) }
            let width = bounds[0].count
            for n in low...high {
                let digits = String(n)
                values.append(String(repeating: "0", count: max(0, width - digits.count)) + digits)
            }
        }
        return values
    }

    static func validateName(_ name: Substring, in text: String) throws(HostlistError) {
        let allowed = name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-._".contains($0)) }
        if !allowed { throw .syntax(text, "bad character in host name '\(name)'") }
    }
}

/// A host list or hostfile that cannot be expanded.
public enum HostlistError: Error, Equatable, CustomStringConvertible {
    case syntax(String, String)
    case empty
    case tooMany(String, Int)
    case badHostfileLine(path: String, line: Int, String)

    public var description: String {
        switch self {
        case .syntax(let text, let why): return "malformed host list '\(text)': \(why)"
        case .empty: return "empty host list"
        case .tooMany(let text, let limit): return "host list '\(text)' expands to more than \(limit) hosts"
        case .badHostfileLine(let path, let line, let text): return "\(path):\(line): bad hostfile line '\(text)'"
        }
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}

extension Substring {
    var trimmingSpaces: Substring {
        var s = self
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return s
    }
}
