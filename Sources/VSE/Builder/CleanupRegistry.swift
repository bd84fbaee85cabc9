import Foundation
import HostProcess

/// Temporary paths of builds in progress, removed when the process exits on a signal: the registry is one
/// of ``TerminationSignals``' clean-ups, which runs after the build's commands have been stopped.
public final class CleanupRegistry: @unchecked Sendable {
    public static let shared = CleanupRegistry()
    private let lock = NSLock()
    private var paths: Set<String> = []
    private var _interrupted = false

    private init() {
        TerminationSignals.onExit { [self] in interrupt() }
    }

    public func add(_ path: String) { lock.withLock { _ = paths.insert(path) } }
    public func remove(_ path: String) { lock.withLock { _ = paths.remove(path) } }
    public var interrupted: Bool { lock.withLock { _interrupted } }

    /// Marks the builds interrupted and removes every registered temporary path (their commands are stopped
    /// first, by ``TerminationSignals/exit(after:)``).
    public func interrupt() {
        let pending = lock.withLock { () -> Set<String> in
            _interrupted = true
            return paths
        }
        for path in pending { SafeRemove.remove(path) }
    }
}

extension TemporaryDirectory {
    /// Removes leftovers of builds whose process is gone (named `.<prefix>-<pid>-XXXXXX`).
    static func removeStale(in parent: String) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: parent) else { return }
        for name in names where name.hasPrefix(".") {
            let parts = name.split(separator: "-")
            guard parts.count >= 3, let pid = Int32(parts[parts.count - 2]), pid != getpid() else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH {
                try? FileManager.default.removeItem(atPath: parent + "/" + name)
            }
        }
    }
}

/// Removes a build tree that a killed tool (mmdebstrap) may have left mounts in: unmounts anything
/// mounted below it first, so the removal can never reach into /proc, /sys or a bind-mounted /dev.
///
/// Removals run one at a time: on Ctrl-C the interrupt handler and the interrupted build's own clean-up both
/// remove the same tree, and two recursive removals racing each other can both give up half-way (each fails
/// on entries the other deleted), leaving part of the tree behind.
enum SafeRemove {
    private static let lock = NSLock()

    static func remove(_ path: String) {
        lock.withLock { removeAlone(path) }
    }

    private static func removeAlone(_ path: String) {
        let prefix = path.hasSuffix("/") ? path : path + "/"
        let mounts = (try? String(contentsOfFile: "/proc/self/mounts", encoding: .utf8)) ?? ""
        let below = mounts.split(separator: "\n")
            .compactMap { $0.split(separator: " ").dropFirst().first.map(String.init) }
            .filter { $0.hasPrefix(prefix) }
            .sorted { $0.count > $1.count }
        for mountPoint in below {
            _ = try? HostCommand("umount", ["--lazy", mountPoint]).runAllowingFailure()
        }
        let stillMounted = ((try? String(contentsOfFile: "/proc/self/mounts", encoding: .utf8)) ?? "")
            .split(separator: "\n").contains { $0.split(separator: " ").dropFirst().first.map { $0.hasPrefix(prefix) } ?? false }
        if !stillMounted { try? FileManager.default.removeItem(atPath: path) }
    }
}
