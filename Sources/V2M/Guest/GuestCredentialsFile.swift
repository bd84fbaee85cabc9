import Foundation
import GuestProtocol

/// A VM's guest credentials on the host: a file in its runtime directory, mode 0600, that QEMU hands the
/// guest as fw_cfg item `opt/org.vhpc/guest` and that every host end reads before its handshake.
///
/// A job's tool agent writes the job's credentials before it starts the VM; a VM started on its own gets a
/// fresh secret (``ensure(_:vmName:)``).
public enum GuestCredentialsFile {
    /// Writes `credentials` to `path` atomically (temp file, then rename), readable by the owner only.
    public static func write(_ credentials: GuestCredentials, to path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let temporary = path + ".tmp-\(getpid())"
        guard FileManager.default.createFile(atPath: temporary, contents: Data(credentials.fileContents.utf8),
                                             attributes: [.posixPermissions: 0o600]) else {
            throw V2MError.invalidProfile("cannot write guest credentials \(temporary)")
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw V2MError.invalidProfile("cannot write guest credentials \(path): \(reason)")
        }
    }

    /// Makes sure `path` holds credentials: keeps the ones there, else writes a VM-private set.
    public static func ensure(_ path: String, vmName: String) throws {
        if FileManager.default.fileExists(atPath: path) { return }
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
