import Foundation

/// A fresh temporary directory with an sshd host key, a client key authorized for root, and a second client
/// key that is *not* authorized (for authentication-failure tests). Generated with the real `ssh-keygen`.
struct SSHDKeys: Sendable {
    let directory: String
    var hostKey: String { directory + "/host_ed25519" }
    var clientKey: String { directory + "/client_ed25519" }
    var strangerKey: String { directory + "/stranger_ed25519" }
    var authorizedKeys: String { directory + "/authorized_keys" }

    static func generate() async throws -> SSHDKeys {
        let template = NSTemporaryDirectory() + "vhpc-sshd-\(getpid())-XXXXXX"
        var bytes = Array(template.utf8CString)
        guard let made = mkdtemp(&bytes) else { throw SSHDShell.CommandFailed(command: ["mkdtemp"], status: errno, output: template) }
        let keys = SSHDKeys(directory: String(cString: made))
        do {
            for key in [keys.hostKey, keys.clientKey, keys.strangerKey] {
                try await SSHDShell.run(["/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "vhpc-test", "-f", key])
            }
            try FileManager.default.copyItem(atPath: keys.clientKey + ".pub", toPath: keys.authorizedKeys)
        } catch {
            keys.remove()
            throw error
        }
        return keys
    }

    /// Deletes the directory.
    func remove() {
        try? FileManager.default.removeItem(atPath: directory)
    }
}
