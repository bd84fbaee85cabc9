import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The one place that calls `waitpid` for children started by `ProcessSpawner`: a dedicated thread reaps
/// them and hands exit statuses to whoever waits for that pid. This is the SIGCHLD detector: an agent
/// learns a local child exited, and how, as soon as it does.
///
/// By default it reaps only the pids it spawned (polling them with `WNOHANG` every few milliseconds), so
/// it never steals the exit status of a child someone else started in the same process (Foundation's
/// `Process`, used by the image builder and by tests). A process that made itself a subreaper calls
/// `reapAllChildren()` so orphans re-parented to it are collected too (`waitpid(-1)`).
public final class ChildReaper: @unchecked Sendable {
    /// The process-wide reaper.
    public static let shared = ChildReaper()

    private let condition = NSCondition()
    private var waiters: [pid_t: [(token: Int, continuation: CheckedContinuation<Int32, Never>)]] = [:]
    private var nextToken = 0
    private var finished: [pid_t: Int32] = [:]
    private var started = false
    private var spawned = 0
    private var owned: Set<pid_t> = []
    private var reapAll = false

    private init() {}

    /// Called after every fork so a reaper that found no children looks again.
    func didSpawn(_ pid: pid_t) {
        condition.lock()
        spawned += 1
        if pid > 0 { owned.insert(pid) }
        condition.signal()
        condition.unlock()
    }

    /// Reap every child, not only spawned ones (for subreapers, whose orphans must be collected).
    /// Only for processes that start no children by other means.
    public func reapAllChildren() {
        condition.lock()
        reapAll = true
        condition.signal()
        condition.unlock()
    }

    /// Called before every fork: starts the reaper thread on first use.
    func willSpawn() {
        condition.lock()
        if !started {
            started = true
            let thread = Thread { [self] in reapForever() }
            thread.name = "vhpc-reaper"
            thread.start()
        }
        condition.signal()
        condition.unlock()
    }

    /// Waits until `pid` exits; returns its exit status, or 128 + signal if it was killed. If the waiting task
    /// is cancelled first, returns -1 (the status stays available for a later wait).
    public func waitForExit(_ pid: pid_t) async -> Int32 {
        let token = makeToken()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                condition.lock()
                if let status = finished.removeValue(forKey: pid) {
                    condition.unlock()
                    continuation.resume(returning: status)
                    return
                }
                if Task.isCancelled {
                    condition.unlock()
                    continuation.resume(returning: -1)
                    return
                }
                waiters[pid, default: []].append((token, continuation))
                condition.unlock()
            }
        } onCancel: {
            condition.lock()
            let index = waiters[pid]?.firstIndex { $0.token == token }
            let removed = index.map { waiters[pid]!.remove(at: $0) }
            condition.unlock()
            removed?.continuation.resume(returning: -1)
        }
    }

    private func makeToken() -> Int {
        condition.lock()
        defer { condition.unlock() }
        nextToken += 1
        return nextToken
    }

    /// Whether `pid` has been reaped and nobody has collected its status yet.
    public func hasExited(_ pid: pid_t) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        return finished[pid] != nil
    }

    /// Decodes a `waitpid` status into an exit code (128 + signal for a killed process).
    public static func exitCode(fromWaitStatus status: Int32) -> Int32 {
        let signal = status & 0x7f
        if signal == 0 { return (status >> 8) & 0xff }
        return 128 + signal
    }

    private func reapForever() {
        while true {
            condition.lock()
            while !reapAll && owned.isEmpty { condition.wait() }
            let everything = reapAll
            let pids = owned
            condition.unlock()
            if everything {
                reapAnyChild()
                continue
            }
            for pid in pids {
                var status: Int32 = 0
                let result = waitpid(pid, &status, WNOHANG)
                if result == pid || (result < 0 && errno == ECHILD) {
                    condition.lock()
                    owned.remove(pid)
                    condition.unlock()
                    deliver(pid, result == pid ? Self.exitCode(fromWaitStatus: status) : -1)
                }
            }
            usleep(5_000)
        }
    }

    private func reapAnyChild() {
        do {
            var status: Int32 = 0
            condition.lock()
            let seen = spawned
            condition.unlock()
            let pid = waitpid(-1, &status, 0)
            if pid > 0 {
                condition.lock()
                owned.remove(pid)
                condition.unlock()
                deliver(pid, Self.exitCode(fromWaitStatus: status))
            } else if errno == ECHILD {
                condition.lock()
                while spawned == seen { condition.wait() }
                condition.unlock()
            }
        }
    }

    private func deliver(_ pid: pid_t, _ code: Int32) {
        condition.lock()
        let continuations = waiters.removeValue(forKey: pid) ?? []
        if continuations.isEmpty {
            if finished.count > 65_536 { finished.removeAll() }
            finished[pid] = code
        }
        condition.unlock()
        for waiter in continuations { waiter.continuation.resume(returning: code) }
    }
}
