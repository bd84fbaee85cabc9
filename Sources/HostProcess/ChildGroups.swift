import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The process groups of commands running to completion (``HostCommand``), so an interrupt can end them and
/// everything they started (mmdebstrap's apt and dpkg) with one `kill(-pgid)` each.
public final class ChildGroups: Sendable {
    /// The process-wide registry.
    public static let shared = ChildGroups()
    private let groups = Mutex<Set<pid_t>>([])

    /// Registers a group (its leader's pid).
    public func add(_ pid: pid_t) { groups.withLock { _ = $0.insert(pid) } }
    /// Forgets a group whose command has finished.
    public func remove(_ pid: pid_t) { groups.withLock { _ = $0.remove(pid) } }
    /// The registered groups.
    public var all: [pid_t] { groups.withLock { Array($0) } }

    /// SIGTERM to every registered group, up to `grace` for their leaders to exit (pidfd waits, no polling;
    /// mmdebstrap unmounts on SIGTERM), then SIGKILL to every group. Blocks the calling thread.
    public func terminateAll(grace: Duration) {
        let leaders = all
        guard !leaders.isEmpty else { return }
        for pid in leaders { kill(-pid, SIGTERM) }
        ProcessExitWatch.blockUntilGone(Set(leaders), for: grace)
        for pid in leaders where kill(-pid, 0) == 0 { kill(-pid, SIGKILL) }
    }
}
