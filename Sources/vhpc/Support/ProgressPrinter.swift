import Foundation
import VSE

/// Shows build steps on stderr: an updating line with elapsed time on a terminal, plain lines otherwise.
final class ProgressPrinter: @unchecked Sendable {
    private let enabled: Bool
    private let isTerminal = isatty(2) == 1
    /// Whether ``update(_:)`` draws anything (enabled, on a terminal): callers skip formatting otherwise.
    var drawsProgress: Bool { enabled && isTerminal }
    private let lock = NSLock()
    private let start = ContinuousClock.now

    init(enabled: Bool) {
        self.enabled = enabled
    }

    func handle(_ event: BuildEvent) {
        guard enabled else { return }
        lock.withLock {
            switch event.phase {
            case .started:
                write(isTerminal ? "\r\u{1B}[K  … \(event.step)" : "  … \(event.step)\n")
            case .finished(let duration):
                let line = String(format: "  ✓ %@ (%.1f s)", event.step, duration.seconds)
                write(isTerminal ? "\r\u{1B}[K" + line + "\n" : line + "\n")
            }
        }
    }

    func summary(_ text: String) {
        guard enabled else { return }
        let total = (ContinuousClock.now - start).seconds
        write(String(format: "%@ in %.2f s\n", text, total))
    }

    /// Redraws the progress line in place (terminal only; nothing otherwise).
    func update(_ line: String) {
        guard drawsProgress else { return }
        lock.withLock { write("\r\u{1B}[K" + line) }
    }

    /// Ends a progress line with a final one (a plain line when stderr is not a terminal).
    func finish(_ line: String) {
        guard enabled else { return }
        lock.withLock { write((isTerminal ? "\r\u{1B}[K" : "") + line + "\n") }
    }

    private func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}
