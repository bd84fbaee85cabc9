import NIOConcurrencyHelpers
import NIOCore

extension EventLoopFuture {
    /// Waits for this future at most `limit`; returns whether it completed (succeeded or failed) by then.
    ///
    /// Racing `get()` against a sleep in a task group does not bound the wait: `get()` ignores cancellation,
    /// so the group still waits for the future. A link's close frame queued behind megabytes of staging
    /// chunks to a stopped peer (its socket buffer full) is never written, and an agent's exit hung on it.
    func completes(within limit: Duration) async -> Bool {
        await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let resumed = NIOLockedValueBox(false)
            let resume: @Sendable (Bool) -> Void = { completed in
                let first = resumed.withLockedValue { done in
                    defer { done = true }
                    return !done
                }
                if first { continuation.resume(returning: completed) }
            }
            let timer = eventLoop.scheduleTask(in: TimeAmount(limit)) { resume(false) }
            whenComplete { _ in
                timer.cancel()
                resume(true)
            }
        }
    }

    /// Waits for every one of `futures` until `limit` has passed in all (not each); returns whether all
    /// completed by then.
    static func allComplete(_ futures: [EventLoopFuture<Value>], within limit: Duration) async -> Bool {
        let deadline = ContinuousClock.now + limit
        for future in futures {
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero, await future.completes(within: remaining) else { return false }
        }
        return true
    }
}
