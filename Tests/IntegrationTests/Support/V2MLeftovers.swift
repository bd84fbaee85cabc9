import Foundation

/// Finds QEMU processes whose command line mentions a path (a test's scratch directory), by scanning /proc
/// — never by killing anything by name.
enum V2MLeftovers {
    static func qemuProcesses(mentioning path: String) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { Int32($0) }.filter { pid in
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            let line = String(decoding: data.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
            return line.contains("qemu-system") && line.contains(path)
        }
    }
}
