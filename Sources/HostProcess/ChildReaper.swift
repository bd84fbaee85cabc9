import CHostProcess
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The one place that calls `waitpid` for children started by `ProcessSpawner`: a dedicated thread reaps
/// them and hands exit statuses to whoever waits for that pid. This is the SIGCHLD detector: an agent
/// learns a local child exited, and how, as soon as it does.
///
/// By default it reaps only the pids it spawned, so it never steals the exit status of a child someone else
/// started in the same process by other means (Foundation's `Process`, which benchmarks and tests use): it holds a
/// pidfd per child (Linux 5.3+) and sleeps in `poll(2)` until one exits, then reaps that one with `waitpid`
/// (a child whose pidfd could not be opened is looked at with `WNOHANG` every 5 ms instead). A process that made itself a subreaper calls
/// `reapAllChildren()` so orphans re-parented to it are collected too (`waitpid(-1)`).
public final class ChildReaper: @unchecked Sendable {
    /// The process-wide reaper.
    public static let shared = ChildReaper()

    private let condition = NSCondition()
    private var waiters: [pid_t: [(token: Int, resume: @Sendable (Termination?) -> Void)]] = [:]
    private var nextToken = 0
    private var finished: [pid_t: Termination] = [:]
    private var started = false
    private var spawned = 0
    private var owned: Set<pid_t> = []
    private var reapAll = false
    /// A pidfd per owned child that has one.
    private var descriptors: [pid_t: Int32] = [:]
    /// Written to wake the reaper from `poll` when a child was added (read end first).
    private let wake: (read: Int32, write: Int32) = {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { return (-1, -1) }
        for fd in ends {
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        }
        return (ends[0], ends[1])
    }()

    private init() {}

    /// Called after every fork so a reaper that found no children looks again.
    func didSpawn(_ pid: pid_t) {
        // A subreaper's reaper waits with waitpid(-1) and polls nothing: no pidfd, and no wake-up. Elsewhere the
        // pidfd is opened before anyone can reap the child: one that already exited is a zombie, and its pidfd
        // polls readable. (A pidfd per task was one more descriptor for every later task's clone to copy and
        // its exec to close.)
        condition.lock()
        let everything = reapAll
        condition.unlock()
        let descriptor = pid > 0 && !everything ? vhpc_pidfd_open(pid) : -1
        condition.lock()
        spawned += 1
        if pid > 0 { owned.insert(pid) }
        if descriptor >= 0 { descriptors[pid] = descriptor }
        condition.signal()
        condition.unlock()
        if wake.write >= 0, !everything {
            var byte: UInt8 = 1
            _ = write(wake.write, &byte, 1)
        }
    }

    /// Reap every child, not only spawned ones (for subreapers, whose orphans must be collected).
    /// Only for processes that start no children by other means.
    public func reapAllChildren() {
        condition.lock()
        reapAll = true
        condition.signal()
        condition.unlock()
        // A reaper asleep in poll(2) over earlier children's pidfds wakes up to wait for every child instead.
        if wake.write >= 0 {
            var byte: UInt8 = 1
            _ = write(wake.write, &byte, 1)
        }
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
        await waitForTermination(pid)?.code ?? -1
    }

    /// Waits until `pid` exits and says how; nil if the waiting task is cancelled first (the status stays
    /// available for a later wait).
    public func waitForTermination(_ pid: pid_t) async -> Termination? {
        let token = makeToken()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Termination?, Never>) in
                condition.lock()
                if let status = finished.removeValue(forKey: pid) {
                    condition.unlock()
                    continuation.resume(returning: status)
                    return
                }
                if Task.isCancelled {
                    condition.unlock()
                    continuation.resume(returning: nil)
                    return
                }
                waiters[pid, default: []].append((token, { continuation.resume(returning: $0) }))
                condition.unlock()
            }
        } onCancel: {
            condition.lock()
            let index = waiters[pid]?.firstIndex { $0.token == token }
            let removed = index.map { waiters[pid]!.remove(at: $0) }
            condition.unlock()
            removed?.resume(nil)
        }
    }

    /// Blocks the calling thread until `pid` exits (for synchronous callers such as ``HostCommand/run()``).
    public func waitForTerminationBlocking(_ pid: pid_t) -> Termination {
        condition.lock()
        if let status = finished.removeValue(forKey: pid) {
            condition.unlock()
            return status
        }
        let done = DispatchSemaphore(value: 0)
        let box = Mutex<Termination?>(nil)
        waiters[pid, default: []].append((-1, { status in
            box.withLock { $0 = status }
            done.signal()
        }))
        condition.unlock()
        done.wait()
        return box.withLock { $0 } ?? .unknown
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
        Termination(waitStatus: status).code
    }

    private func reapForever() {
        while true {
            condition.lock()
            while !reapAll && owned.isEmpty { condition.wait() }
            let everything = reapAll
            let pids = owned
            let watched = descriptors
            condition.unlock()
            if everything {
                reapAnyChild()
                continue
            }
            // Sleep until a watched child exits or one is added; children without a pidfd are looked at every 5 ms.
            let unwatched = pids.filter { watched[$0] == nil }
            var fds = watched.values.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            if wake.read >= 0 { fds.append(pollfd(fd: wake.read, events: Int16(POLLIN), revents: 0)) }
            let timeout: Int32 = unwatched.isEmpty && wake.read >= 0 ? -1 : 5
            _ = poll(&fds, nfds_t(fds.count), timeout)
            if wake.read >= 0 {
                var sink = [UInt8](repeating: 0, count: 64)
                while read(wake.read, &sink, sink.count) > 0 {}
            }
            let ready = Set(fds.filter { $0.revents != 0 && $0.fd != wake.read }.map(\.fd))
            for pid in pids where watched[pid].map(ready.contains) ?? true {
                var status: Int32 = 0
                let result = waitpid(pid, &status, WNOHANG)
                if result == pid || (result < 0 && errno == ECHILD) {
                    condition.lock()
                    owned.remove(pid)
                    let descriptor = descriptors.removeValue(forKey: pid)
                    condition.unlock()
                    if let descriptor { close(descriptor) }
                    deliver(pid, result == pid ? Termination(waitStatus: status) : .unknown)
                }
            }
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
                let descriptor = descriptors.removeValue(forKey: pid)
                condition.unlock()
                if let descriptor { close(descriptor) }
                deliver(pid, Termination(waitStatus: status))
            } else if errno == ECHILD {
                condition.lock()
                while spawned == seen { condition.wait() }
                condition.unlock()
            }
        }
    }

    private func deliver(_ pid: pid_t, _ code: Termination) {
        condition.lock()
        let continuations = waiters.removeValue(forKey: pid) ?? []
        if continuations.isEmpty {
            if finished.count > 65_536 { finished.removeAll() }
            finished[pid] = code
        }
        condition.unlock()
        for waiter in continuations { waiter.resume(code) }
    }
}
