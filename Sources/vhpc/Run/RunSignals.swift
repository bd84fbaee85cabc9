import HostProcess
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Ctrl-C / SIGTERM / SIGHUP for `vhpc run`, caught (by ``TerminationSignals``) from the command's start:
/// before the job exists one exits at once with 128 + signal (after stopping an image build in progress);
/// then the first one terminates the job cleanly, during bootstrap too (agents and tasks gone within 2 s), and
/// the run exits 128 + signal; a second one while the job ends exits at once, after a SIGKILL sweep of the
/// job's agent process groups (``install(_:sweep:)``).
enum RunSignals {
    private struct State {
        var handler: (@Sendable (Int32) -> Void)?
        var received = 0
        var sweep: (@Sendable () -> Void)?
    }

    private static let state = Mutex(State())
    private static let signals = [SIGINT, SIGTERM, SIGHUP]

    /// Starts catching the signals; until ``install(_:sweep:)`` one ends the process.
    static func catchEarly() {
        TerminationSignals.handle(signals, nil)
    }

    /// Hands signals to `handler`; `sweep` kills what the job started, for a second signal.
    static func install(_ handler: @escaping @Sendable (Int32) -> Void, sweep: @escaping @Sendable () -> Void = {}) {
        state.withLock { state in
            state.handler = handler
            state.sweep = sweep
        }
        TerminationSignals.handle(signals) { received($0) }
    }

    private static func received(_ signal: Int32) {
        let (handler, count, sweep) = state.withLock { state in
            state.received += 1
            return (state.handler, state.received, state.sweep)
        }
        if handler == nil || count >= 2 {
            sweep?()
            TerminationSignals.exit(after: signal)
        }
        handler?(signal)
    }
}
