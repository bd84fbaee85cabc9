import CHwloc
import Foundation
import Launch
import V2M
import VSE
#if canImport(Glibc)
import Glibc
#endif

/// The I/O shell of ``HwlocTopology``: the XML file for this process's view of the machine, under
/// `$VHPC_HOME/cache/`, written by the first job on this boot (loading `libhwloc.so.15` and discovering,
/// ~20 ms once) and found by every later one. A file is written to a temporary name and renamed, so a reader
/// never sees half of it; files of other views not written for a day are removed then. Without hwloc, or when
/// the file cannot be written, there is none and the ranks discover for themselves as before (hwloc also
/// falls back to discovering when the file it is pointed at is missing or unreadable).
public enum HwlocTopologyCache {
    /// Files of other views older than this are removed when a new one is written.
    static let staleAfter: TimeInterval = 24 * 3600

    /// The XML file for this process's current view of the machine, written now if missing; nil if hwloc
    /// cannot give one.
    public static func file(directory: String = StateDirectory.resolve().root + "/cache") -> String? {
        let path = directory + "/" + HwlocTopology.cacheFileName(facts: facts())
        return access(path, R_OK) == 0 ? path : export(to: path, directory: directory)
    }

    /// What the topology hwloc discovers here depends on.
    static func facts() -> [String] {
        func read(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }
        let status = read("/proc/self/status").split(separator: "\n")
            .filter { $0.hasPrefix("Cpus_allowed_list:") || $0.hasPrefix("Mems_allowed_list:") }.joined(separator: "\n")
        let hwlocVariables = ProcessInfo.processInfo.environment.filter { $0.key.hasPrefix("HWLOC_") }
            .sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "\n")
        return [AcceleratorProbe.bootID(), read("/sys/devices/system/cpu/online"), status,
                read("/proc/self/cgroup"), hwlocVariables]
    }

    private static func export(to path: String, directory: String) -> String? {
        var xml: UnsafeMutablePointer<CChar>?
        var length = 0
        var error = [CChar](repeating: 0, count: 256)
        guard vhpc_hwloc_export_xml(&xml, &length, &error, error.count) == 0, let xml else { return nil }
        defer { free(xml) }
        guard CacheFile.replace(path, with: Data(bytes: xml, count: length)) else { return nil }
        let name = (path as NSString).lastPathComponent
        let now = Date()
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        where entry.hasPrefix(HwlocTopology.filePrefix) && entry != name {
            let other = directory + "/" + entry
            let modified = (try? FileManager.default.attributesOfItem(atPath: other)[.modificationDate]) as? Date
            if let modified, now.timeIntervalSince(modified) > staleAfter { unlink(other) }
        }
        return path
    }
}
