#if canImport(Glibc)
import Glibc
#endif

/// Finds programs: the one `PATH` search of vhpc (like a shell's), and the path of the running binary.
public enum ExecutableLookup {
    /// Where programs are looked for when `PATH` is unset: the usual system directories, the `sbin` ones
    /// too (image builders and VM plug-ins run `mkfs.ext4`, `ip`, `libvirtd`…).
    public static let defaultSearchPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// This process's `PATH`, or ``defaultSearchPath``.
    public static func searchPath() -> String {
        getenv("PATH").map { String(cString: $0) } ?? defaultSearchPath
    }

    /// The absolute path of `name` (as given if it contains a slash), or nil if no executable regular file
    /// exists. An empty entry of the search path is the current directory, as in a shell.
    public static func resolve(_ name: String, path: String? = nil) -> String? {
        guard !name.isEmpty else { return nil }
        if name.contains("/") { return isExecutableFile(name) ? name : nil }
        for directory in (path ?? searchPath()).split(separator: ":", omittingEmptySubsequences: false) {
            let candidate = (directory.isEmpty ? "." : String(directory)) + "/" + name
            if isExecutableFile(candidate) { return candidate }
        }
        return nil
    }

    /// `name` as a shell in `directory` would run it: a relative path with a slash (`./a.out`, `bin/app`) is
    /// taken from `directory`; a bare name (searched in `PATH`) and an absolute path stay as they are.
    public static func anchored(_ name: String, in directory: String) -> String {
        name.contains("/") && !name.hasPrefix("/") ? directory + "/" + name : name
    }

    /// Whether `path` is a regular file this process may execute.
    static func isExecutableFile(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG && access(path, X_OK) == 0
    }

    /// The running executable, from `/proc/self/exe`.
    public static func currentExecutable() -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return CommandLine.arguments[0] }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
