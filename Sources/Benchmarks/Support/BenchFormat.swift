import Foundation

/// How benchmarks print a duration: seconds with `decimals` places, or `missing` when there is none.
public func benchSeconds(_ value: Duration?, decimals: Int = 2, missing: String = "failed") -> String {
    guard let value else { return missing }
    return String(format: "%.\(decimals)f s", value.seconds)
}

/// How benchmarks print a byte count: B, KiB, MiB or GiB with one decimal.
public func benchBytes(_ count: Int) -> String {
    let units = ["B", "KiB", "MiB", "GiB"]
    var value = Double(count)
    var unit = 0
    while value >= 1024, unit < units.count - 1 {
        value /= 1024
        unit += 1
    }
    return unit == 0 ? "\(count) B" : String(format: "%.1f ", value) + units[unit]
}
