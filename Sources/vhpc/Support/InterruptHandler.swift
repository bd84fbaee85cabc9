import Dispatch
import Foundation
import VSE

/// Ctrl-C / SIGTERM: run the registered cleanups (kill children, remove temp dirs), exit 130/143.
enum InterruptHandler {
    nonisolated(unsafe) private static var sources: [DispatchSourceSignal] = []
    nonisolated(unsafe) private static var extraCleanups: [@Sendable () -> Void] = []
    private static let lock = NSLock()

    static func install() {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler {
                CleanupRegistry.shared.interrupt()
                let cleanups = lock.withLock { extraCleanups }
                for cleanup in cleanups { cleanup() }
                CLIErrors.printError("vhpc: interrupted")
                exit(128 + sig)
            }
            source.resume()
            lock.withLock { sources.append(source) }
        }
    }

    /// Something else to undo on interrupt (e.g. kill a VM).
    static func onInterrupt(_ cleanup: @escaping @Sendable () -> Void) {
        lock.withLock { extraCleanups.append(cleanup) }
    }
}
