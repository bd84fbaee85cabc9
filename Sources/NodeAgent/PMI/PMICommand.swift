/// One line of PMI-1's wire protocol ("simple PMI", what MPICH's `PMI_FD`/`PMI_PORT` clients speak):
/// space-separated `key=value` words, the first being `cmd=NAME`, ended by a newline.
public struct PMICommand: Sendable, Hashable {
    public var name: String
    public var fields: [String: String]

    public init(name: String, fields: [String: String] = [:]) {
        self.name = name
        self.fields = fields
    }

    /// Parses a line (without its newline); nil unless it starts with `cmd=`. A `value=` field runs to the
    /// end of the line, less trailing blanks (PMI-1 values may hold spaces; MPICH and hydra put it last).
    public init?(line: String) {
        var fields: [String: String] = [:]
        var name: String?
        var line = Substring(line)
        if let range = line.range(of: " value=") {
            var value = line[range.upperBound...]
            while value.last == " " || value.last == "\r" { value.removeLast() }
            fields["value"] = String(value)
            line = line[..<range.lowerBound]
        }
        for word in line.split(separator: " ", omittingEmptySubsequences: true) {
            guard let equals = word.firstIndex(of: "=") else { continue }
            let key = String(word[..<equals])
            let value = String(word[word.index(after: equals)...])
            if name == nil {
                guard key == "cmd" else { return nil }
                name = value
            } else {
                fields[key] = value
            }
        }
        guard let name else { return nil }
        self.init(name: name, fields: fields)
    }

    /// The line to send, with its newline: `cmd=NAME` then the fields in the order given.
    public static func line(_ name: String, _ fields: KeyValuePairs<String, String>) -> String {
        (["cmd=" + name] + fields.map { $0.key + "=" + $0.value }).joined(separator: " ") + "\n"
    }
}
