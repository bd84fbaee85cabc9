import Foundation
import Synchronization
import VSE

/// Picks and creates per-VM runtime directories, keeping unix socket paths short enough to bind.
public enum RuntimeDirectory {
    private static let counter = Mutex(0)

    /// The longest unix socket path vhpc uses: SwiftNIO's `SocketAddress(unixDomainSocketPath:)` refuses more
    /// than 103 bytes (the portable limit; Linux alone would allow 107).
    static let longestSocketPath = 103

    /// The per-user fallback parent for socket directories whose preferred path is too long.
    static var fallbackParent: String { "/tmp/vhpc-\(getuid())" }

    /// `preferredParent/name` when `fits` says the sockets it will hold fit in `sun_path`, else
    /// `/tmp/vhpc-<uid>/name` (its parent made private first). Creates nothing else.
    static func path(name: String, preferredParent: String, fits: (String) -> Bool) throws(V2MError) -> String {
        let preferred = preferredParent + "/" + name
        if fits(preferred) { return preferred }
        try ensurePrivateFallbackParent()
        return fallbackParent + "/" + name
    }

    /// Creates a VM's runtime directory: `preferredParent/name`, or `/tmp/vhpc-<uid>/name` when the
    /// preferred path is too long for its sockets (`guest.sock`, and the longer names a migration uses,
    /// `m<N>-guest.sock`, allowed for up to N = 999).
    public static func make(name: String, preferredParent: String) throws(V2MError) -> String {
        let directory = try vmPath(name: name, preferredParent: preferredParent)
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw .invalidProfile("cannot create runtime directory \(directory): \(error)")
        }
        return directory
    }

    /// Where `make` puts a VM's runtime directory, without creating it.
    public static func vmPath(name: String, preferredParent: String) throws(V2MError) -> String {
        try path(name: name, preferredParent: preferredParent) { ($0 + "/m999-guest.sock").utf8.count <= longestSocketPath }
    }

    /// Creates `/tmp/vhpc-<uid>` mode 0700, or checks that the one there is a real directory of this user's
    /// (and makes it 0700): /tmp is shared, and the name is predictable.
    static func ensurePrivateFallbackParent() throws(V2MError) {
        let path = fallbackParent
        if mkdir(path, 0o700) != 0, errno != EEXIST {
            throw .invalidProfile("cannot create \(path): \(String(cString: strerror(errno)))")
        }
        var info = stat()
        guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR, info.st_uid == getuid() else {
            throw .invalidProfile("\(path) is not a directory of user \(getuid()) (a symlink, or someone else's): refusing to put VM sockets and credentials there")
        }
        if info.st_mode & 0o077 != 0, chmod(path, 0o700) != 0 {
            throw .invalidProfile("cannot make \(path) private (mode 0700): \(String(cString: strerror(errno)))")
        }
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
