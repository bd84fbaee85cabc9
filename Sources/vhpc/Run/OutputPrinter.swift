import Foundation
import NIOConcurrencyHelpers
import NIOCore
import Wire

/// Writes forwarded task output to our stdout/stderr (or the task's `-o`/`-e` files), one whole line at a
/// time, labelled `rank: ` with -l.
final class OutputPrinter: Sendable {
    let label: Bool
    let files: TaskOutputFiles?
    private let lock = NIOLock()

    init(label: Bool, files: TaskOutputFiles? = nil) {
        self.label = label
        self.files = files
    }

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
        lock.withLock {
            bytes.withUnsafeBytes { raw in
                var offset = 0
                while offset < raw.count {
                    let written = write(fd, raw.baseAddress! + offset, raw.count - offset)
                    if written < 0 && errno == EINTR { continue }
                    if written <= 0 { break }
                    offset += written
                }
            }
        }
    }

    /// Output is written unbuffered; kept for call sites that order errors after output.
    func flush() {}
}
