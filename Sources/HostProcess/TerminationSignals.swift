import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The process's one catcher of termination signals (Ctrl-C, SIGTERM, SIGHUP) and its one list of what to
/// undo before exiting on one.
///
/// Each signal is caught once per process (its disposition set to ignore, a dispatch source delivering it,
/// even when the shell started us with it ignored) and handed to the current handler; with no handler, it
/// ends the process through ``exit(after:)``: every running ``HostCommand``'s process group is ended
/// (``ChildGroups``), then the registered clean-ups run (remove temporary trees, stop VMs), newest first,
/// and the process exits 128 + signal.
public enum TerminationSignals {
    private struct State {
        var sources: [Int32: any DispatchSourceSignal] = [:]
        var handler: (@Sendable (Int32) -> Void)?
        var cleanups: [(token: Int, run: @Sendable () -> Void)] = []
        var nextToken = 0
    }

    private static let state = Mutex(State())

    /// Catches `signals` from now on and hands each delivery to `handler`, which replaces the handler set
    /// before (nil: a signal ends the process through ``exit(after:)``).
    public static func handle(_ signals: [Int32], _ handler: (@Sendable (Int32) -> Void)?) {
        state.withLock { state in
            state.handler = handler
            for number in signals where state.sources[number] == nil {
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
                source.setEventHandler { deliver(number) }
                source.resume()
                state.sources[number] = source
            }
        }
    }

    /// What a caught signal does (internal: tests call it, a signal sent to the test process would be discarded
    /// unless its main thread blocks it, as `dispatch_main` does in the CLI).
    static func deliver(_ number: Int32) {
        guard let handler = state.withLock({ $0.handler }) else { exit(after: number) }
        handler(number)
    }

    /// Registers something to undo before the process exits on a signal; the token removes it.
    @discardableResult
    public static func onExit(_ cleanup: @escaping @Sendable () -> Void) -> Int {
        state.withLock { state in
            state.nextToken += 1
            state.cleanups.append((state.nextToken, cleanup))
            return state.nextToken
        }
    }

    /// Forgets a clean-up (its work was done the ordinary way).
    public static func remove(_ token: Int) {
        state.withLock { $0.cleanups.removeAll { $0.token == token } }
    }

    /// Ends running host commands' process groups (SIGTERM, up to 5 s, SIGKILL), runs the clean-ups newest
    /// first, and exits 128 + `signal`.
    public static func exit(after signal: Int32) -> Never {
        ChildGroups.shared.terminateAll(grace: .seconds(5))
        let cleanups = state.withLock { state in
            defer { state.cleanups.removeAll() }
            return state.cleanups
        }
        for cleanup in cleanups.reversed() { cleanup.run() }
        Glibc.exit(128 + signal)
    }
}
