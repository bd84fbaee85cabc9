#if canImport(Glibc)
import Glibc
#endif

/// Writes all of `bytes` to `fd` unless it fails: retries interrupted writes and waits while a non-blocking
/// descriptor is full; stops at EPIPE or another error (the reader is gone). The one write-everything loop
/// for pipes and sockets (agent configuration, task stdin, PMI replies).
public func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) {
    var offset = 0
    while offset < bytes.count {
        let written = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
        if written < 0 && errno == EINTR { continue }
        if written < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
            var ready = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            _ = poll(&ready, 1, -1)
            continue
        }
        if written <= 0 { break }
        offset += written
    }
}
