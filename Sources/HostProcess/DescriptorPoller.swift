import CHostProcess
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Reads many descriptors (a node's task pipes and PMI sockets) to their end on one thread of its own, in one
/// `epoll` set: a descriptor costs one `epoll_ctl` to watch and nothing more until it is readable.
///
/// Task output used a SwiftNIO pipe channel per descriptor (three per task): each channel's set-up,
/// registration on an event loop and close through its pipeline cost ~0.2 ms of CPU per task, about a tenth
/// of a local `vhpc run -N 64 -- true` (`perf record`); the reads themselves are the same either way.
public final class DescriptorPoller: Sendable {
    /// The process's poller (its thread starts with the first watch).
    public static let shared = DescriptorPoller()

    /// Bytes read at once from a descriptor.
    public static let chunkSize = 65_536

    /// One watched descriptor and its consumer.
    private struct Watch: Sendable {
        let fd: Int32
        let consume: @Sendable (UnsafeRawBufferPointer?) -> Void
    }

    private struct Table {
        var watches: [UInt64: Watch] = [:]
        var nextToken: UInt64 = 1
        var started = false
    }

    private let epoll: Int32
    private let table = Mutex(Table())

    private init() {
        epoll = vhpc_epoll_create()
    }

    /// Reads `fd` until end of file or a read error, giving each chunk read to `consume` on the poller's thread,
    /// in order, then nil once (the end), after closing `fd`. Returns false, and takes nothing, when `fd` cannot
    /// be watched (a regular file, or no epoll instance): read it some other way.
    /// `consume` must not block: every watched descriptor waits for it.
    public func watch(_ fd: Int32, consume: @escaping @Sendable (UnsafeRawBufferPointer?) -> Void) -> Bool {
        guard epoll >= 0 else { return false }
        let (token, startThread) = table.withLock { table -> (UInt64, Bool) in
            let token = table.nextToken
            table.nextToken += 1
            table.watches[token] = Watch(fd: fd, consume: consume)
            defer { table.started = true }
            return (token, !table.started)
        }
        if startThread { startPolling() }
        // Readiness says a read will not block; non-blocking all the same, should a wake-up be spurious (set
        // before the descriptor is watched: from then on the poller may close it at any time).
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        guard vhpc_epoll_watch(epoll, fd, token) == 0 else {
            _ = table.withLock { $0.watches.removeValue(forKey: token) }
            _ = fcntl(fd, F_SETFL, flags)
            return false
        }
        return true
    }

    private func startPolling() {
        let thread = Thread { [self] in poll() }
        thread.name = "vhpc-pipes"
        thread.stackSize = 256 * 1024
        thread.start()
    }

    private func poll() {
        var tokens = [UInt64](repeating: 0, count: 64)
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.chunkSize, alignment: 16)
        while true {
            let count = tokens.withUnsafeMutableBufferPointer { vhpc_epoll_wait(epoll, $0.baseAddress, Int32($0.count)) }
            guard count > 0 else { continue }  // EINTR
            for index in 0..<Int(count) {
                let token = tokens[index]
                guard let watch = table.withLock({ $0.watches[token] }) else { continue }
                let result = read(watch.fd, chunk.baseAddress, chunk.count)
                if result > 0 {
                    watch.consume(UnsafeRawBufferPointer(rebasing: chunk[0..<result]))
                    continue
                }
                if result < 0, errno == EAGAIN || errno == EINTR { continue }
                // End of file, or a read error, which ends the stream as end of file does.
                _ = vhpc_epoll_forget(epoll, watch.fd)
                close(watch.fd)
                _ = table.withLock { $0.watches.removeValue(forKey: token) }
                watch.consume(nil)
            }
        }
    }
}
