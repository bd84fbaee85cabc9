import Foundation
import NIOConcurrencyHelpers
import NIOCore
import Wire

/// Writes forwarded task output to our stdout/stderr (or the task's `-o`/`-e` files), one whole line at a
/// time, labelled `rank: ` with -l.
///
/// When a reader goes away (`vhpc run … | head -2`: EPIPE on stdout or stderr) it writes nothing more and
/// calls `onBrokenPipe` once: the run ends the job quietly and exits 141, as tools killed by SIGPIPE do.
final class OutputPrinter: Sendable {
    let label: Bool
    let files: TaskOutputFiles?
    private let lock = NIOLock()
    private let broken = NIOLockedValueBox(false)
    private let brokenPipeHandler = NIOLockedValueBox<(@Sendable () -> Void)?>(nil)

    init(label: Bool, files: TaskOutputFiles? = nil) {
        self.label = label
        self.files = files
    }

    /// Called once, from the writing thread, when stdout or stderr is a pipe nobody reads any more.
    func onBrokenPipe(_ handler: @escaping @Sendable () -> Void) {
        brokenPipeHandler.withLockedValue { $0 = handler }
    }

    /// Whether a reader went away: nothing more is written, and the run exits 141 without messages.
    var isBroken: Bool { broken.withLockedValue { $0 } }

    func print(task: Int, stream: IOStream, data: ByteBuffer) {
        var fd: Int32 = stream == .stderr ? 2 : 1
        if let files, task >= 0, task < files.stdout.count { fd = stream == .stderr ? files.stderr[task] : files.stdout[task] }
        var bytes: [UInt8]
        if label {
            let prefix = Array("\(task): ".utf8)
            bytes = []
            bytes.reserveCapacity(data.readableBytes + 64)
            var atLineStart = true
            for byte in data.readableBytesView {
                if atLineStart { bytes += prefix }
                bytes.append(byte)
                atLineStart = byte == UInt8(ascii: "\n")
            }
            if !atLineStart { bytes.append(UInt8(ascii: "\n")) }
        } else {
            bytes = Array(data.readableBytesView)
        }
        guard !isBroken else { return }
        let pipeClosed = lock.withLock { () -> Bool in
            bytes.withUnsafeBytes { raw in
                var offset = 0
                while offset < raw.count {
                    let written = write(fd, raw.baseAddress! + offset, raw.count - offset)
                    if written < 0 && errno == EINTR { continue }
                    if written < 0 && errno == EPIPE { return true }
                    if written <= 0 { break }
                    offset += written
                }
                return false
            }
        }
        guard pipeClosed else { return }
        let first = broken.withLockedValue { wasBroken in
            defer { wasBroken = true }
            return !wasBroken
        }
        if first { brokenPipeHandler.withLockedValue { $0 }?() }
    }

    /// Output is written unbuffered; kept for call sites that order errors after output.
    func flush() {}
}
