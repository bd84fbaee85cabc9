import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Files that hold secrets: written whole or not at all and readable by their owner only from the first byte,
/// and trusted only when they are that (a regular file of this user, no access for group or others).
public enum PrivateFile {
    /// A reason a private file could not be written.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// Replaces `path` with `bytes`: a new temporary file created mode 0600 (`O_EXCL`, `O_NOFOLLOW`), written,
    /// synced, then renamed over `path`.
    public static func replace(_ path: String, with bytes: [UInt8]) throws(Failure) {
        let temporary = path + ".tmp-\(getpid())"
        func failure(_ what: String) -> Failure {
            Failure(description: "cannot write \(what): \(String(cString: strerror(errno)))")
        }
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw failure(temporary) }
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd) == 0
        close(fd)
        guard written == bytes.count, synced else {
            let error = failure(temporary)
            unlink(temporary)
            throw error
        }
        guard rename(temporary, path) == 0 else {
            let error = failure(path)
            unlink(temporary)
            throw error
        }
    }

    /// Whether `path` is a regular file (not a link) owned by this user that no one else can read or write.
    public static func isPrivate(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG && info.st_uid == getuid() && info.st_mode & 0o077 == 0
    }
}
