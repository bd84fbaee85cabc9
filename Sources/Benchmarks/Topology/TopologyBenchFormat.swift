/// Number and table formatting for `vhpc bench topology`.
enum TopologyBenchFormat {
    static func duration(_ duration: Duration) -> String {
        let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
        if seconds >= 1 { return decimal(seconds) + " s" }
        if seconds >= 1e-3 { return decimal(seconds * 1e3) + " ms" }
        return decimal(seconds * 1e6) + " µs"
    }

    static func nanoseconds(_ duration: Duration) -> String {
        let nanoseconds = Double(duration.components.seconds) * 1e9 + Double(duration.components.attoseconds) * 1e-9
        return decimal(nanoseconds) + " ns"
    }

    static func percent(_ fraction: Double) -> String {
        decimal(fraction * 100) + " %"
    }

    /// Three significant digits at most, without Foundation.
    static func decimal(_ value: Double) -> String {
        var digits = value >= 100 ? 0 : value >= 10 ? 1 : 2
        // Re-pick after rounding so 99.97 prints as 100, not 100.0.
        while digits > 0, (value * pow10(digits)).rounded() / pow10(digits) >= pow10(3 - digits) { digits -= 1 }
        var scaled = (value * pow10(digits)).rounded()
        if scaled.isNaN || scaled.isInfinite { scaled = 0 }
        let whole = Int(scaled)
        guard digits > 0 else { return "\(whole)" }
        let divisor = Int(pow10(digits))
        let fraction = String(abs(whole) % divisor)
        return "\(whole / divisor)." + String(repeating: "0", count: digits - fraction.count) + fraction
    }

    static func table(_ rows: [[String]]) -> String {
        guard let columns = rows.map(\.count).max() else { return "" }
        var widths = [Int](repeating: 0, count: columns)
        for row in rows { for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) } }
        return rows.map { row in
            row.enumerated().map { index, cell in
                index == 0 ? cell + String(repeating: " ", count: widths[index] - cell.count)
                    : String(repeating: " ", count: widths[index] - cell.count) + cell
            }.joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }

    private static func pow10(_ exponent: Int) -> Double {
        (0..<exponent).reduce(1.0) { value, _ in value * 10 }
    }
}
