@preconcurrency import Dispatch
import Foundation
import NIOConcurrencyHelpers

/// Ctrl-C / SIGTERM for `vhpc run`: the first one terminates the job cleanly (agents and tasks gone within
/// 2 s); the run then exits 128 + signal.
enum RunSignals {
    nonisolated(unsafe) private static var sourcesStorage: [DispatchSourceSignal] = []
    private static let lock = NIOLock()

    static func install(_ handler: @escaping @Sendable (Int32) -> Void) {
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { handler(sig) }
            source.resume()
            lock.withLock { sourcesStorage.append(source) }
        }
    }
}
