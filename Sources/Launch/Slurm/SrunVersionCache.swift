import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `srun --version`, remembered per srun executable so a job does not run srun once before its step only to
/// choose `--overlap` or `--external-launcher` (a whole srun start, ~20 ms here, on the launch's critical path).
///
/// One small file (`<directory>/srun-version`) holds the version next to the executable's identity: device,
/// inode, size and change time. Installing or upgrading Slurm replaces the file and changes that identity, so
/// a stale entry is never used; an unreadable or malformed cache is ignored and rewritten. Writes go to a
/// temporary file renamed into place, so a reader never sees half an entry.
public struct SrunVersionCache: Sendable {
    public let directory: String

    public init(directory: String) {
        self.directory = directory
    }

    public var file: String { directory + "/srun-version" }

    /// The version of `srun`: the remembered one while the executable is unchanged, else `probe(srun)`
    /// (remembered when it answers).
    public func version(of srun: String, probe: (String) -> SrunCommand.Version? = SrunCommand.installedVersion) -> SrunCommand.Version? {
        guard let identity = Self.identity(of: srun) else { return probe(srun) }
        if let line = CacheLine(file: file).read(), let known = Self.entry(line + "\n", identity: identity) {
            return known
        }
        guard let version = probe(srun) else { return nil }
        CacheLine(file: file).write(String(Self.line(identity: identity, version: version).dropLast()))
        return version
    }

    /// `path`'s identity as the cache keys it (nil when it cannot be read).
    static func identity(of path: String) -> String? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return "\(info.st_dev) \(info.st_ino) \(info.st_size) \(info.st_ctim.tv_sec).\(info.st_ctim.tv_nsec) \(path)"
    }

    /// The cache line for one executable: `<major>.<minor> <identity>`.
    static func line(identity: String, version: SrunCommand.Version) -> String {
        "\(version.major).\(version.minor) \(identity)\n"
    }

    /// The version the cache text holds for `identity`; nil when it holds none (or only for another srun).
    static func entry(_ text: String, identity: String) -> SrunCommand.Version? {
        guard text.hasSuffix("\n") else { return nil }
        let line = text.dropLast()
        guard let space = line.firstIndex(of: " "), line[line.index(after: space)...] == identity else { return nil }
        let parts = line[..<space].split(separator: ".")
        guard parts.count == 2, let major = Int(parts[0]), let minor = Int(parts[1]) else { return nil }
        return SrunCommand.Version(major: major, minor: minor)
    }
}
