/// Parses human-written byte sizes: `512M`, `1G`, `1024K`, `2GiB`, `1.5G`, `536870912`.
///
/// Units are binary, as in QEMU's `-m`: K, M, G, T, P are powers of 1024, optionally followed by
/// `i` and/or `B` (`M`, `MB`, `MiB`), case-insensitive. A bare number or a `B` suffix means bytes.
/// A decimal fraction is allowed with a unit (`1.5G`); the result is rounded down to whole bytes.
public enum SizeParser {
    /// The size in bytes, or `nil` if `s` is not a size or overflows `UInt64`.
    public static func parseBytes(_ s: String) -> UInt64? {
        var scalars = Array(s.unicodeScalars)
        while let first = scalars.first, first == " " || first == "\t" { scalars.removeFirst() }
        while let last = scalars.last, last == " " || last == "\t" { scalars.removeLast() }
        var index = scalars.startIndex
        var integer: UInt64 = 0
        var integerDigits = 0
        while index < scalars.endIndex, let digit = decimalDigit(scalars[index]) {
            guard let value = accumulate(integer, digit) else { return nil }
            integer = value
            integerDigits += 1
            index += 1
        }
        guard integerDigits > 0 else { return nil }
        var fraction: UInt64 = 0
        var fractionScale: UInt64 = 1
        if index < scalars.endIndex, scalars[index] == "." {
            index += 1
            var fractionDigits = 0
            while index < scalars.endIndex, let digit = decimalDigit(scalars[index]) {
                // Digits beyond 18 cannot change a whole-byte result below 2^64 in a meaningful way.
                if fractionDigits < 18 {
                    fraction = fraction * 10 + digit
                    fractionScale *= 10
                }
                fractionDigits += 1
                index += 1
            }
            guard fractionDigits > 0 else { return nil }
        }
        while index < scalars.endIndex, scalars[index] == " " { index += 1 }
        guard let shift = unitShift(String(String.UnicodeScalarView(scalars[index...]))) else { return nil }
        if fractionScale > 1 && shift == 0 { return nil }  // fractional bytes make no sense
        let multiplier: UInt64 = 1 << shift
        let (whole, overflow) = integer.multipliedReportingOverflow(by: multiplier)
        guard !overflow else { return nil }
        let part = fractionPart(fraction, scale: fractionScale, multiplier: multiplier)
        let (total, overflow2) = whole.addingReportingOverflow(part)
        return overflow2 ? nil : total
    }

    private static func decimalDigit(_ scalar: Unicode.Scalar) -> UInt64? {
        guard ("0"..."9").contains(scalar) else { return nil }
        return UInt64(scalar.value - 48)
    }

    private static func accumulate(_ value: UInt64, _ digit: UInt64) -> UInt64? {
        let (times10, o1) = value.multipliedReportingOverflow(by: 10)
        let (sum, o2) = times10.addingReportingOverflow(digit)
        return o1 || o2 ? nil : sum
    }

    /// floor(fraction / scale * multiplier) without overflow (multiplier is a power of two ≤ 2^50).
    private static func fractionPart(_ fraction: UInt64, scale: UInt64, multiplier: UInt64) -> UInt64 {
        guard fraction > 0 else { return 0 }
        let product = fraction.multipliedFullWidth(by: multiplier)
        return scale.dividingFullWidth((product.high, product.low)).quotient
    }

    /// log2 of the unit's multiplier, or nil for an unknown unit.
    private static func unitShift(_ unit: String) -> Int? {
        var letters = unit.uppercased()
        if letters.isEmpty || letters == "B" { return 0 }
        if letters.hasSuffix("B") { letters.removeLast() }
        if letters.hasSuffix("I") { letters.removeLast() }
        switch letters {
        case "K": return 10
        case "M": return 20
        case "G": return 30
        case "T": return 40
        case "P": return 50
        default: return nil
        }
    }
}
