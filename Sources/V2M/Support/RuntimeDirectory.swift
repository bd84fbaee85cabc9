import Foundation
import Synchronization
import VSE

/// Picks and creates per-VM runtime directories, keeping unix socket paths under the 108-byte limit.
enum RuntimeDirectory {
    private static let counter = Mutex(0)

    /// `preferredParent/name`, or `/tmp/vhpc-<uid>/name` when the preferred path is too long for sockets.
    static func make(name: String, preferredParent: String) throws(V2MError) -> String {
        var directory = preferredParent + "/" + name
        if (directory + "/guest.sock").utf8.count >= 100 {
            directory = "/tmp/vhpc-\(getuid())/" + name
        }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw .invalidProfile("cannot create runtime directory \(directory): \(error)")
        }
        return directory
    }

    /// A process-unique short name: `prefix-<pid>-<n>`.
    static func uniqueName(prefix: String) -> String {
        let n = counter.withLock { value in
            value += 1
            return value
        }
        return "\(prefix)-\(getpid())-\(n)"
    }
}
