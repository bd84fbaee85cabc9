import ArgumentParser

/// A duration on the command line, one syntax for every option that takes one: `2s`, `500ms`, `1.5`
/// (seconds), `1m`, `0`.
struct DurationArgument: ExpressibleByArgument, Sendable, Hashable, CustomStringConvertible {
    let duration: Duration
    /// As the user wrote it (shown as the default in `--help`).
    let text: String

    init?(argument: String) {
        guard let duration = Self.parse(argument) else { return nil }
        self.duration = duration
        self.text = argument
    }

    /// A default written in the source (always valid).
    init(_ text: String) {
        self.init(argument: text)!
    }

    var description: String { text }
    var defaultValueDescription: String { text }

    /// `text` as a duration: a number with `ms`, `s` or `m`, or plain seconds; nil when it is none.
    static func parse(_ text: String) -> Duration? {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            if let value = Double(text.dropLast(suffix.count)), value >= 0, value.isFinite {
                return .milliseconds(Int64((value * scale * 1000).rounded()))
            }
        }
        if let value = Double(text), value >= 0, value.isFinite, value < 1e12 { return .milliseconds(Int64((value * 1000).rounded())) }
        return nil
    }
}
