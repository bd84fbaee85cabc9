import Control
import Foundation
import HostProcess
import NIOCore
#if canImport(Glibc)
import Glibc
#endif

/// Reads a task's pipe (or socket) to its end, handing whole-line chunks to `deliver` and calling it once more
/// with `endOfStream` = true: on the process's ``DescriptorPoller`` thread (one for every task of the
/// process), or on a thread of its own for a descriptor epoll cannot watch (a regular file).
struct PipeReader: Sendable {
    let fd: Int32

    /// The stream's framer, used by the poller's thread alone.
    private final class Framing: @unchecked Sendable {
        var framer = LineFramer()
    }

    /// Reads until EOF; returns when done. The descriptor is closed.
    func run(_ deliver: @escaping @Sendable (ByteBuffer, Bool) -> Void) async {
        let fd = self.fd
        let framing = Framing()
        let watched = await withCheckedContinuation { (done: CheckedContinuation<Bool, Never>) in
            let taken = DescriptorPoller.shared.watch(fd) { bytes in
                guard let bytes else {
                    deliver(framing.framer.flush() ?? ByteBuffer(), true)
                    done.resume(returning: true)
                    return
                }
                if let lines = framing.framer.append(ByteBuffer(bytes: bytes)) { deliver(lines, false) }
            }
            if !taken { done.resume(returning: false) }
        }
        if !watched { await runOnThread(deliver) }
    }

    /// Blocking reads on a thread of its own.
    private func runOnThread(_ deliver: @escaping @Sendable (ByteBuffer, Bool) -> Void) async {
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
