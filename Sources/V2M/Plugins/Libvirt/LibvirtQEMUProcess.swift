import Foundation

/// Finds the QEMU process a libvirtd runs for a domain by scanning /proc. libvirt's own pid file lies in
/// the daemon's state directory, which differs per daemon (and is hidden for a daemon in its own mount
/// namespace); QEMU's command line carries the domain UUID whichever daemon started it.
enum LibvirtQEMUProcess {
    /// The QEMU process with `-uuid uuid` on its command line. During a migration the source and the
    /// destination share the UUID; then the one holding `consoleLog` open (each has its own) is chosen.
    static func find(uuid: String, consoleLog: String) -> Int32? {
        let candidates = processes(withUUID: uuid)
        if candidates.count <= 1 { return candidates.first }
        return candidates.first { holdsOpen(pid: $0, path: consoleLog) }
    }

    static func processes(withUUID uuid: String) -> [Int32] {
        guard !uuid.isEmpty else { return [] }
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { Int32($0) }.filter { pid in
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            let argv = data.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
            guard argv.first?.contains("qemu-system") == true, let flag = argv.firstIndex(of: "-uuid"),
                  flag + 1 < argv.count else { return false }
            return argv[flag + 1] == uuid
        }.sorted()
    }

    static func holdsOpen(pid: Int32, path: String) -> Bool {
        let directory = "/proc/\(pid)/fd"
        let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return descriptors.contains { (try? FileManager.default.destinationOfSymbolicLink(atPath: directory + "/" + $0)) == path }
    }
}
