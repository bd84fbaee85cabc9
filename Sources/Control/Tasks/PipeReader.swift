import Foundation
import NIOCore
#if canImport(Glibc)
import Glibc
#endif

/// Reads a pipe to its end on a dedicated thread (blocking reads; one per task stream), handing whole-line
/// chunks to `deliver` and calling it once more with `endOfStream` = true.
struct PipeReader: Sendable {
    let fd: Int32

    /// Reads until EOF; returns when done.
    func run(_ deliver: @escaping @Sendable (ByteBuffer, Bool) -> Void) async {
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            let thread = Thread {
                var framer = LineFramer()
                var chunk = [UInt8](repeating: 0, count: 65_536)
                while true {
                    let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                    if count < 0 && errno == EINTR { continue }
                    if count <= 0 { break }
                    if let lines = framer.append(ByteBuffer(bytes: chunk[0..<count])) { deliver(lines, false) }
                }
                close(fd)
                deliver(framer.flush() ?? ByteBuffer(), true)
                done.resume()
            }
            thread.stackSize = 256 * 1024
            thread.start()
        }
    }
}
