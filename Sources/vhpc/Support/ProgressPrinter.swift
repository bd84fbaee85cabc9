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

    /// The running step's ticker: on a terminal the step's line shows its elapsed seconds, redrawn twice a
    /// second, so a long step (mmdebstrap) is seen moving.
    private var ticker: DispatchSourceTimer?
    private var tickerGeneration = 0

    func handle(_ event: BuildEvent) {
        guard enabled else { return }
        lock.withLock {
            ticker?.cancel()
            ticker = nil
            tickerGeneration += 1
            switch event.phase {
            case .started:
                write(isTerminal ? "\r\u{1B}[K  … \(event.step)" : "  … \(event.step)\n")
                if isTerminal { startTicker(step: event.step) }
            case .finished(let duration):
                let line = String(format: "  ✓ %@ (%.1f s)", event.step, duration.seconds)
                write(isTerminal ? "\r\u{1B}[K" + line + "\n" : line + "\n")
            }
        }
    }

    private func startTicker(step: String) {
        let started = ContinuousClock.now
        tickerGeneration += 1
        let generation = tickerGeneration
        let timer = DispatchSource.makeTimerSource(queue: DispatchQueue.global())
        timer.schedule(deadline: .now() + 1, repeating: 0.5)
        timer.setEventHandler { [weak self] in
            guard let self else { return }
            let elapsed = Int((ContinuousClock.now - started).seconds)
            self.lock.withLock {
                guard self.tickerGeneration == generation, self.ticker != nil else { return }
                self.write("\r\u{1B}[K  … \(step) (\(elapsed) s)")
            }
        }
        ticker = timer
        timer.resume()
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
