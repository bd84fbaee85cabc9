import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Dates as the history stores them: GRDB's text form (`yyyy-MM-dd HH:mm:ss.SSS`, UTC), written without a
/// `DateFormatter` (building one loads time-zone data and ICU formats: ~1 ms of a short job's CPU here).
/// Rows written this way read back through GRDB's own date decoding, as before.
enum HistoryDate {
    static func text(_ date: Date) -> String {
        let total = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))  // as ICU: whole milliseconds
        var seconds = time_t(total >= 0 ? total / 1000 : (total - 999) / 1000)
        let milliseconds = Int(total - Int64(seconds) * 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return pad(Int(parts.tm_year) + 1900, 4) + "-" + pad(Int(parts.tm_mon) + 1, 2) + "-" + pad(Int(parts.tm_mday), 2) + " "
            + pad(Int(parts.tm_hour), 2) + ":" + pad(Int(parts.tm_min), 2) + ":" + pad(Int(parts.tm_sec), 2) + "."
            + pad(milliseconds, 3)
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}
