import Control
import Foundation

/// The front-end's staging display: a progress bar on a terminal (stderr), else one summary line.
final class StageProgress: @unchecked Sendable {
    private let printer: ProgressPrinter
    private let lock = NSLock()
    private var lastDraw = ContinuousClock.now - .seconds(1)

    init(enabled: Bool = true) {
        printer = ProgressPrinter(enabled: enabled)
    }

    func handle(_ event: JobEvent) {
        switch event {
        case .stagingProgress(let bytes, let total, let done, let nodes):
            guard printer.drawsProgress else { return }
            let now = ContinuousClock.now
            let draw = lock.withLock { () -> Bool in
                guard now - lastDraw >= .milliseconds(100) || done == nodes else { return false }
                lastDraw = now
                return true
            }
            guard draw else { return }
            let fraction = total == 0 ? 1 : Double(bytes) / Double(total)
            let filled = Int((fraction * 30).rounded(.down))
            let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: 30 - filled)
            printer.update(String(format: "staging [%@] %.0f/%.0f MiB, %d/%d nodes done", bar, Double(bytes) / 1_048_576, Double(total) / 1_048_576, done, nodes))
        case .staged(let bytes, let nodes, let skipped, let elapsed):
            let seconds = max(elapsed.seconds, 1e-6)
            let mib = Double(bytes) / 1_048_576
            // A rate would be meaningless when some copies were not sent at all.
            let tail = skipped > 0
                ? " (\(skipped) file copies already present, not sent)"
                : String(format: ", %.1f MiB/s", mib * Double(nodes) / seconds)
            printer.finish(String(format: "staged %.1f MiB to %d nodes in %.2f s", mib, nodes, seconds) + tail)
        default:
            break
        }
    }
}
