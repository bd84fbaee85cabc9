import Control
import Foundation
import HostProcess
#if canImport(Glibc)
import Glibc
#endif

/// A node's PMIx directory, `$TMPDIR/vhpc-pmix-<job>-<node>`: the PMIx server's session files and Open MPI's
/// node-local files (shared-memory segments). Its agent removes it when the node's tasks are done, the
/// front-end of a local job sweeps its job's directories at the end and on a second signal.
///
/// When the agent and the front-end are both killed with SIGKILL (`kill -9` of the whole job, the OOM killer)
/// nobody is left to do either; so the agent that creates a directory writes an owner file into it (this
/// machine's name, its pid and the start time of that process), and every PMIx server start removes the
/// directories whose owner is dead (``sweepAbandoned()``): only directories of this user, whose owner file
/// names this machine and a process that no longer exists (or a pid now used by another process).
public enum PMIxNodeDirectory {
    /// What every node directory's name starts with.
    static let namePrefix = "vhpc-pmix-"
    /// The owner file inside each directory.
    static let ownerFileName = ".vhpc-owner"

    /// The directory node directories go in: `$TMPDIR`, else /tmp.
    public static var parent: String {
        let tmpdir = ProcessInfo.processInfo.environment["TMPDIR"] ?? ""
        return tmpdir.isEmpty ? "/tmp" : (tmpdir.hasSuffix("/") && tmpdir.count > 1 ? String(tmpdir.dropLast()) : tmpdir)
    }

    /// Where the nodes of job `jobID` keep their files (a directory per node: this, then the node's name).
    public static func prefix(jobID: String) -> String {
        parent + "/" + namePrefix + "\(jobID)-"
    }

    /// Creates `path` (0700; an existing one is kept) and writes this process as its owner.
    static func create(_ path: String) throws {
        if mkdir(path, 0o700) != 0 && errno != EEXIST {
            throw PMIxServer.Failure(description: "cannot create \(path): \(String(cString: strerror(errno)))")
        }
        guard let owner = PMIxDirectoryOwner.current else { return }
        let file = path + "/" + ownerFileName
        let fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw PMIxServer.Failure(description: "cannot write \(file): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        let bytes = Array(owner.text.utf8)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }

    /// Removes the node directories of job `jobID` on this machine: an agent killed with its job cannot.
    public static func sweep(jobID: String) {
        let start = namePrefix + "\(jobID)-"
        for entry in entries(in: parent) where entry.hasPrefix(start) {
            remove(parent + "/" + entry)
        }
    }

    /// Removes the node directories in `parent` whose agent died without removing them (see the type's
    /// notes); returns their paths.
    @discardableResult
    public static func sweepAbandoned(in parent: String = parent) -> [String] {
        guard let host = PMIxDirectoryOwner.hostName, PMIxDirectoryOwner.startTime(of: getpid()) != nil else { return [] }
        var removed: [String] = []
        for entry in entries(in: parent) {
            let path = parent + "/" + entry
            var info = stat()
            guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR, info.st_uid == geteuid(),
                  let owner = PMIxDirectoryOwner.read(path + "/" + ownerFileName),
                  owner.isAbandoned(host: host, startTime: PMIxDirectoryOwner.startTime(of:))
            else { continue }
            remove(path)
            removed.append(path)
        }
        return removed
    }

    /// Entries of `parent` named like node directories. Read with readdir, the prefix compared before a name
    /// becomes a String: `$TMPDIR` may hold thousands of entries (6,400 in /tmp here), and every job reads it.
    private static func entries(in parent: String) -> [String] {
        guard let directory = opendir(parent) else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name: String? = withUnsafePointer(to: &entry.pointee.d_name) { field in
                field.withMemoryRebound(to: CChar.self, capacity: MemoryLayout.size(ofValue: field.pointee)) { name in
                    strncmp(name, namePrefix, namePrefix.utf8.count) == 0 ? String(cString: name) : nil
                }
            }
            if let name { names.append(name) }
        }
        return names
    }

    /// Removes `path` and everything below it, going on past entries that vanish meanwhile: a node's agent
    /// and the front-end's sweep may remove the same directory at once (`FileManager.removeItem` stops at the
    /// first entry the other removed, leaving the rest). Symbolic links are removed, never followed.
    static func remove(_ path: String) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        guard info.st_mode & S_IFMT == S_IFDIR else {
            unlink(path)
            return
        }
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] {
            remove(path + "/" + entry)
        }
        rmdir(path)
    }
}

/// Who made a node directory: machine, pid and the process's start time (clock ticks after boot, from
/// `/proc/PID/stat`), so that a pid reused by another process is not taken for the owner. The file holds
/// `host=H pid=P start=T`.
struct PMIxDirectoryOwner: Equatable {
    var host: String
    var pid: pid_t
    var start: UInt64

    var text: String { "host=\(host) pid=\(pid) start=\(start)\n" }

    init(host: String, pid: pid_t, start: UInt64) {
        self.host = host
        self.pid = pid
        self.start = start
    }

    /// Parses an owner file's text; nil for anything else (such a directory is never swept).
    init?(text: String) {
        var fields: [Substring: Substring] = [:]
        for word in text.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
            guard let equals = word.firstIndex(of: "=") else { return nil }
            fields[word[..<equals]] = word[word.index(after: equals)...]
        }
        guard fields.count == 3, let host = fields["host"], !host.isEmpty,
              let pid = fields["pid"].flatMap({ pid_t($0) }), pid > 0,
              let start = fields["start"].flatMap({ UInt64($0) }) else { return nil }
        self.init(host: String(host), pid: pid, start: start)
    }

    /// Whether the owner is gone: the file names `host` (this machine) and its pid is not running, or runs
    /// another process (another start time). An owner on another machine is never judged from here.
    func isAbandoned(host: String, startTime: (pid_t) -> UInt64?) -> Bool {
        guard self.host == host else { return false }
        return startTime(pid) != start
    }

    /// This process, as the owner of the directories it creates.
    static var current: PMIxDirectoryOwner? {
        guard let host = hostName, let start = startTime(of: getpid()) else { return nil }
        return PMIxDirectoryOwner(host: host, pid: getpid(), start: start)
    }

    /// The owner file at `path` (a regular file of this user, at most 256 bytes), parsed.
    static func read(_ path: String) -> PMIxDirectoryOwner? {
        var info = stat()
        guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_uid == geteuid(), info.st_size <= 256,
              let data = FileManager.default.contents(atPath: path) else { return nil }
        return PMIxDirectoryOwner(text: String(decoding: data, as: UTF8.self))
    }

    /// This machine's name (no spaces or '=' in it, as the file's format needs).
    static var hostName: String? {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return nil }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty || name.contains(" ") || name.contains("=") ? nil : name
    }

    /// The start time of live (not zombie) process `pid`: field 22 of `/proc/PID/stat`; nil when it is gone.
    static func startTime(of pid: pid_t) -> UInt64? {
        guard let fields = JobProcessScan.statFields(of: pid), fields.count > 19, fields[0] != "Z", fields[0] != "X" else { return nil }
        return UInt64(fields[19])
    }
}
