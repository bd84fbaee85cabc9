import Foundation
import GuestProtocol
import HostProcess

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
        do {
            try PrivateFile.replace(path, with: Array(credentials.fileContents.utf8))
        } catch {
            throw V2MError.invalidProfile("guest credentials: \(error)")
        }
    }

    /// Makes sure `path` holds credentials: keeps a file there that only this user can read, else writes a
    /// VM-private set.
    public static func ensure(_ path: String, vmName: String) throws {
        if PrivateFile.isPrivate(path) { return }
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
