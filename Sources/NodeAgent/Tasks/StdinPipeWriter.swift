import Dispatch
import HostProcess
#if canImport(Glibc)
import Glibc
#endif

/// Writes stdin into a task's pipe on a serial queue of its own, then closes it at end-of-stream: a task that
/// does not read its input blocks only this queue, never the agent's control of its tasks.
final class StdinPipeWriter: Sendable {
    private let fd: Int32
    private let queue: DispatchQueue

    init(fd: Int32, rank: Int) {
        self.fd = fd
        self.queue = DispatchQueue(label: "vhpc.stdin.\(rank)")
    }

    func write(_ bytes: [UInt8], endOfStream: Bool) {
        let fd = self.fd
        queue.async {
            // EPIPE (the task closed its stdin or exited) ends the write.
            if !bytes.isEmpty { bytes.withUnsafeBytes { writeAll(fd, $0) } }
            if endOfStream { close(fd) }
        }
    }
}
