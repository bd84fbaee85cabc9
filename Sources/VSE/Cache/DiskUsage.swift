import Foundation

/// Bytes a file tree takes on disk (allocated blocks, so sparse images count what they use).
public enum DiskUsage {
    public static func bytes(at path: String) -> UInt64 {
        var info = stat()
        guard lstat(path, &info) == 0 else { return 0 }
        var total = UInt64(info.st_blocks) * 512
        guard (info.st_mode & S_IFMT) == S_IFDIR else { return total }
        for name in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] {
            total += bytes(at: path + "/" + name)
        }
        return total
    }
}

/// Removes a directory so that no reader sees it half-deleted: renamed away into the state directory's
/// `tmp/` first (same file system), then deleted.
enum SafeRemoval {
    static func remove(_ path: String, via state: StateDirectory) throws {
        try state.ensure(state.tmp)
        let graveyard = state.tmp + "/rm-\((path as NSString).lastPathComponent)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.moveItem(atPath: path, toPath: graveyard)
        try FileManager.default.removeItem(atPath: graveyard)
    }
}
