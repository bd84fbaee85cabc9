import CHostProcess
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Waits for processes to exit, ours or not, without polling: one pidfd per process (Linux 5.3+), which polls
/// readable once the process has exited (a zombie counts as gone), on a thread of its own for the wait.
public enum ProcessExitWatch {
    /// Returns once none of `pids` is alive, or `limit` has passed.
    public static func waitUntilGone(_ pids: Set<pid_t>, for limit: Duration) async {
        // Opened here, at once: a process that exits from now on is seen, one already gone has no pidfd.
        let descriptors = open(pids)
        guard !descriptors.isEmpty else { return }
        let deadline = ContinuousClock.now + limit
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let thread = Thread {
                waitReadable(descriptors, until: deadline)
                for fd in descriptors { close(fd) }
                continuation.resume()
            }
            thread.name = "vhpc-exit-watch"
            thread.start()
        }
    }

    /// ``waitUntilGone(_:for:)`` on the calling thread (for synchronous callers: an interrupt handler).
    public static func blockUntilGone(_ pids: Set<pid_t>, for limit: Duration) {
        let descriptors = open(pids)
        waitReadable(descriptors, until: ContinuousClock.now + limit)
        for fd in descriptors { close(fd) }
    }

    private static func open(_ pids: Set<pid_t>) -> [Int32] {
        pids.compactMap { pid -> Int32? in
            let fd = vhpc_pidfd_open(pid)
            return fd >= 0 ? fd : nil
        }
    }

    /// Blocks until every descriptor polls readable (or hung up), or `deadline`.
    private static func waitReadable(_ descriptors: [Int32], until deadline: ContinuousClock.Instant) {
        var pending = descriptors.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        while !pending.isEmpty {
            let left = deadline - ContinuousClock.now
            guard left > .zero else { return }
            let milliseconds = Int32(clamping: (left.components.seconds * 1000) + left.components.attoseconds / 1_000_000_000_000_000 + 1)
            let ready = poll(&pending, nfds_t(pending.count), milliseconds)
            if ready < 0 && errno != EINTR { return }
            pending.removeAll { $0.revents != 0 }
            for index in pending.indices { pending[index].revents = 0 }
        }
    }
}
