import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The descriptors a node's PMI replies are written to, per task rank; closed once the task's connection
/// ends. A write never blocks its caller (the thread that reads the tasks' sockets): what a task's full socket
/// does not take now is kept in order and written by a flush of its own on a global queue, which waits for the
/// socket to drain.
final class PMIWriters: Sendable {
    private struct Writer {
        var fd: Int32
        /// Bytes not written yet; while there are any, a flush owns the writing and later replies queue here.
        var backlog: [UInt8] = []
    }

    private let writers = Mutex<[Int: Writer]>([:])

    func add(_ fd: Int32, for rank: Int) {
        writers.withLock { $0[rank] = Writer(fd: fd) }
    }

    /// Writes `bytes` to task `rank`'s connection after what was written before (nothing once it is closed).
    func write(_ bytes: [UInt8], to rank: Int) {
        let blocked = writers.withLock { writers -> Bool in
            guard let fd = writers[rank]?.fd else { return false }
            // Changed in place: a copy of a long backlog would be copied again on every reply.
            guard writers[rank]!.backlog.isEmpty else {
                writers[rank]!.backlog += bytes
                return false
            }
            let written = Self.writeSome(fd, bytes[...])
            guard written < bytes.count else { return false }
            writers[rank]!.backlog = Array(bytes[written...])
            return true
        }
        if blocked { DispatchQueue.global().async { self.flush(rank) } }
    }

    /// Whether replies to task `rank` wait for its socket to drain.
    func isBacklogged(_ rank: Int) -> Bool {
        writers.withLock { !($0[rank]?.backlog.isEmpty ?? true) }
    }

    /// Ends the connection (both directions) without closing the descriptor: its reader sees EOF.
    func shutdown(_ rank: Int) {
        writers.withLock { writers in
            if let writer = writers[rank] { _ = Glibc.shutdown(writer.fd, Int32(SHUT_RDWR)) }
        }
    }

    func close(_ rank: Int) {
        if let writer = writers.withLock({ $0.removeValue(forKey: rank) }) { Glibc.close(writer.fd) }
    }

    /// Writes task `rank`'s backlog as its socket drains, until it is empty or the connection is closed.
    private func flush(_ rank: Int) {
        while true {
            let fd = writers.withLock { writers -> Int32? in
                guard let fd = writers[rank]?.fd, !writers[rank]!.backlog.isEmpty else { return nil }
                let written = Self.writeSome(fd, writers[rank]!.backlog[...])
                writers[rank]!.backlog.removeFirst(written)
                return writers[rank]!.backlog.isEmpty ? nil : fd
            }
            guard let fd else { return }
            // Outside the lock; bounded, so a descriptor closed meanwhile is noticed by the next round.
            var ready = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            _ = poll(&ready, 1, 100)
        }
    }

    /// Writes what `fd` takes now; a closed or failed connection takes everything (it is thrown away).
    private static func writeSome(_ fd: Int32, _ bytes: ArraySlice<UInt8>) -> Int {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_DONTWAIT | MSG_NOSIGNAL)) }
            if sent < 0 && errno == EINTR { continue }
            if sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return offset }
            if sent <= 0 { return bytes.count }
            offset += sent
        }
        return offset
    }
}
