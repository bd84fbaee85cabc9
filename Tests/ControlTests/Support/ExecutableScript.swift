import Foundation

/// Scripts the tests run as stand-ins for installed programs (srun, scontrol).
enum ExecutableScript {
    /// Writes `text` to `path` (mode 0755) through a close-on-exec descriptor: a child another test forks
    /// meanwhile must not keep it open for writing, or running it fails with ETXTBSY (Foundation's atomic
    /// write does not open its temporary file close-on-exec).
    static func write(_ path: String, _ text: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o755)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
        close(fd)
        guard written == bytes.count else { throw POSIXError(.EIO) }
    }
}
