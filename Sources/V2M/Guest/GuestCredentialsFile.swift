import Foundation
import GuestProtocol

/// A VM's guest credentials on the host: a file in its runtime directory, mode 0600, that QEMU hands the
/// guest as fw_cfg item `opt/org.vhpc/guest` and that every host end reads before its handshake.
///
/// A job's tool agent writes the job's credentials before it starts the VM; a VM started on its own gets a
/// fresh secret (``ensure(_:vmName:)``).
public enum GuestCredentialsFile {
    /// Writes `credentials` to `path` atomically: a new temporary file created mode 0600 (never readable by
    /// others, not even for a moment), written, synced, then renamed over `path`.
    public static func write(_ credentials: GuestCredentials, to path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let temporary = path + ".tmp-\(getpid())"
        func failure(_ what: String) -> V2MError {
            V2MError.invalidProfile("cannot write guest credentials \(what): \(String(cString: strerror(errno)))")
        }
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw failure(temporary) }
        let bytes = Array(credentials.fileContents.utf8)
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
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

    /// Makes sure `path` holds credentials: keeps a file there that only this user can read, else writes a
    /// VM-private set.
    public static func ensure(_ path: String, vmName: String) throws {
        var info = stat()
        if lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, info.st_uid == getuid(), info.st_mode & 0o077 == 0 {
            return
        }
        try write(.standalone(vmName: vmName), to: path)
    }

    /// Reads and parses `path`.
    public static func read(_ path: String, vmName: String) throws -> GuestCredentials {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw V2MError.guestChannel(vm: vmName, reason: "no guest credentials at \(path)")
        }
        do {
            return try GuestCredentials(fileContents: String(decoding: data, as: UTF8.self))
        } catch {
            throw V2MError.guestChannel(vm: vmName, reason: "\(path): \(error)")
        }
    }
}
