@preconcurrency import Dispatch
import Foundation
import NIOConcurrencyHelpers

/// Ctrl-C / SIGTERM / SIGHUP for `vhpc run`, caught from the command's start (``catchEarly()``, even when the
/// shell started us with them ignored): before the job exists one exits at once with 128 + signal (nothing
/// to clean up yet); then the first one terminates the job cleanly, during bootstrap too (agents and tasks
/// gone within 2 s), and the run exits 128 + signal; a second one while the job ends exits at once, after a
/// SIGKILL sweep of the job's agent process groups (``install(_:sweep:)``).
enum RunSignals {
    private struct State {
        var sources: [DispatchSourceSignal] = []
        var handler: (@Sendable (Int32) -> Void)?
        var received = 0
        var sweep: (@Sendable () -> Void)?
    }

    nonisolated(unsafe) private static var state = State()
    private static let lock = NIOLock()

    /// Starts catching the signals; until ``install(_:sweep:)`` one ends the process.
    static func catchEarly() {
        lock.withLock {
            guard state.sources.isEmpty else { return }
            for sig in [SIGINT, SIGTERM, SIGHUP] {
                signal(sig, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
                source.setEventHandler { received(sig) }
                source.resume()
                state.sources.append(source)
            }
        }
    }

    /// Hands signals to `handler`; `sweep` kills what the job started, for a second signal.
    static func install(_ handler: @escaping @Sendable (Int32) -> Void, sweep: @escaping @Sendable () -> Void = {}) {
        catchEarly()
        lock.withLock {
            state.handler = handler
            state.sweep = sweep
        }
    }

    private static func received(_ sig: Int32) {
        let (handler, count, sweep) = lock.withLock { () -> ((@Sendable (Int32) -> Void)?, Int, (@Sendable () -> Void)?) in
            state.received += 1
            return (state.handler, state.received, state.sweep)
        }
        if handler == nil || count >= 2 {
            sweep?()
            exit(128 + sig)
        }
        handler?(sig)
    }
}
