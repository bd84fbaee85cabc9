/// srun's `--time` syntax: `MINUTES`, `MINUTES:SECONDS`, `HOURS:MINUTES:SECONDS`, `DAYS-HOURS`,
/// `DAYS-HOURS:MINUTES`, `DAYS-HOURS:MINUTES:SECONDS`; `0`, `UNLIMITED` and `INFINITE` mean no limit.
public enum TimeLimit {
    /// Why a limit could not be read.
    public struct ParseError: Error, CustomStringConvertible {
        public var text: String
        public var description: String {
            "--time: cannot read '\(text)' (minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS)"
        }
    }

    /// The limit `text` gives, or nil for none.
    public static func parse(_ text: String) throws(ParseError) -> Duration? {
        let trimmed = text.uppercased()
        if trimmed == "UNLIMITED" || trimmed == "INFINITE" { return nil }
        let dayParts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard dayParts.count <= 2 else { throw ParseError(text: text) }
        var days = 0
        var clock = Substring(text)
        if dayParts.count == 2 {
            guard let value = number(dayParts[0]) else { throw ParseError(text: text) }
            days = value
            clock = dayParts[1]
        }
        let fields = clock.split(separator: ":", omittingEmptySubsequences: false)
        guard !fields.isEmpty, fields.count <= 3 else { throw ParseError(text: text) }
        var values: [Int] = []
        for field in fields {
            guard let value = number(field) else { throw ParseError(text: text) }
            values.append(value)
        }
        let seconds: Int
        if dayParts.count == 2 {
            // D-HH, D-HH:MM, D-HH:MM:SS
            let padded = values + Array(repeating: 0, count: 3 - values.count)
            seconds = ((days * 24 + padded[0]) * 60 + padded[1]) * 60 + padded[2]
        } else {
            switch values.count {
            case 1: seconds = values[0] * 60
            case 2: seconds = values[0] * 60 + values[1]
            default: seconds = (values[0] * 60 + values[1]) * 60 + values[2]
            }
        }
        return seconds == 0 ? nil : .seconds(seconds)
    }

    private static func number(_ text: Substring) -> Int? {
        guard !text.isEmpty, text.count <= 9, text.allSatisfy(\.isASCII), let value = Int(text), value >= 0 else { return nil }
        return value
    }
}
