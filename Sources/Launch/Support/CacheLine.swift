import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One small cache file under `$VHPC_HOME/cache` holding one line: read whole, replaced whole (written to a
/// temporary file renamed into place, so a reader never sees half a line). What the line means, and when it
/// is stale, is its user's ( ``SrunVersionCache``, ``SlurmNodeAddress`` ).
struct CacheLine: Sendable {
    let file: String

    /// The line without its newline; nil when the file is missing, unreadable or not one whole line.
    func read() -> Substring? {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8), text.hasSuffix("\n") else { return nil }
        return text.dropLast()
    }

    /// Replaces the file's line (best effort: a cache that cannot be written is only slower next time).
    func write(_ line: String) {
        CacheFile.replace(file, with: Data((line + "\n").utf8))
    }
}

/// A cache file under `$VHPC_HOME/cache` replaced whole: written to a temporary file (its directory made if
/// missing) and renamed into place, so a reader never sees half of it.
public enum CacheFile {
    /// Replaces `file` with `contents` (a file of mode `permissions`, whole or not at all); false if it could not
    /// (best effort: a cache is only a shortcut).
    @discardableResult
    public static func replace(_ file: String, with contents: Data, permissions: Int = 0o644) -> Bool {
        let directory = (file as NSString).deletingLastPathComponent
        guard (try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)) != nil else { return false }
        let temporary = file + ".\(getpid()).tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: contents, attributes: [.posixPermissions: permissions]) else { return false }
        guard rename(temporary, file) == 0 else {
            unlink(temporary)
            return false
        }
        return true
    }
}
