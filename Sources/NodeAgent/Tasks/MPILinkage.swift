import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Whether an executable links an MPI library (Open MPI's `libmpi.so`, MPICH's `libmpich.so`), read once per
/// executable file in this process: its dynamic string table sits near the start of the ELF file, so the
/// first 4 MiB are searched (with `memmem`). Cached by path, inode, size and modification time.
final class MPILinkage: Sendable {
    static let shared = MPILinkage()
    static let libraries = ["libmpi.so.", "libmpich.so.", "libmpi_"]
    static let searchedBytes = 4 << 20

    private struct Key: Hashable {
        let path: String
        let inode: UInt64
        let size: Int64
        let modified: Int
    }

    private let cache = Mutex<[Key: Bool]>([:])

    func links(_ path: String) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0 else { return false }
        let key = Key(path: path, inode: UInt64(info.st_ino), size: Int64(info.st_size), modified: info.st_mtim.tv_sec)
        if let known = cache.withLock({ $0[key] }) { return known }
        let links = Self.scan(path)
        cache.withLock { $0[key] = links }
        return links
    }

    /// Whether the first ``searchedBytes`` of the file at `path` name an MPI library.
    static func scan(_ path: String) -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return false }
        var head = [UInt8](repeating: 0, count: min(searchedBytes, max(0, Int(info.st_size))))
        var filled = 0
        while filled < head.count {
            let count = head.withUnsafeMutableBytes { read(fd, $0.baseAddress! + filled, $0.count - filled) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            filled += count
        }
        return head.withUnsafeBytes { bytes in
            libraries.contains { contains(Array($0.utf8), in: UnsafeRawBufferPointer(rebasing: bytes[..<filled])) }
        }
    }

    /// Whether `needle` occurs in `haystack` (`memchr` for its first byte, then `memcmp`).
    static func contains(_ needle: [UInt8], in haystack: UnsafeRawBufferPointer) -> Bool {
        guard let first = needle.first, let base = haystack.baseAddress, haystack.count >= needle.count else { return false }
        let end = base + (haystack.count - needle.count + 1)
        var cursor = base
        while cursor < end, let found = memchr(cursor, Int32(first), end - cursor) {
            let candidate = UnsafeRawPointer(found)
            if memcmp(candidate, needle, needle.count) == 0 { return true }
            cursor = candidate + 1
        }
        return false
    }
}
