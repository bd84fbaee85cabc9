import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Which MPI library an executable links (Open MPI's `libmpi.so`, MPICH's `libmpich.so`), and whether it
/// could run any MPI at all (``SelfContainedProgram``), read once per executable file in this process: its dynamic string table sits near the start of the ELF file, so the
/// first 4 MiB are searched (`memchr` and `memcmp`: Swift's Glibc module does not export the GNU `memmem`). Cached by path, inode, size and modification time.
public final class MPILinkage: Sendable {
    public static let shared = MPILinkage()
    /// MPICH's library (Debian's speaks PMI-1 over `PMI_FD` only: it neither links OpenPMIx nor reads `PMIX_*`).
    static let mpichLibraries = ["libmpich.so."]
    /// Every other MPI library: Open MPI's (PMIx), and `libmpi.so.12` of MPICH derivatives such as Intel MPI.
    static let otherLibraries = ["libmpi.so.", "libmpi_"]
    static let searchedBytes = 4 << 20

    /// The MPI libraries named in an executable.
    public struct Libraries: Sendable, Hashable {
        /// MPICH's `libmpich.so`.
        public var mpich = false
        /// Any other MPI library (``otherLibraries``).
        public var other = false
        /// The program is ``SelfContainedProgram``: it can neither load a library nor start another program.
        public var selfContained = false

        public init(mpich: Bool = false, other: Bool = false, selfContained: Bool = false) {
            self.mpich = mpich
            self.other = other
            self.selfContained = selfContained
        }

        /// It links some MPI library.
        public var linksMPI: Bool { mpich || other }
        /// It links MPICH's library and no other MPI's: a PMI-1 client.
        public var onlyMPICH: Bool { mpich && !other }
        /// No MPI can run in its process nor be started by it: it needs neither PMI-1 nor PMIx.
        public var startsNoMPI: Bool { selfContained && !linksMPI }
        /// Under `--mpi auto`, whether its tasks get PMIx: every program but one that links only MPICH's library
        /// (a PMI-1 client that never reads `PMIX_*`) or can start no MPI.
        public var getsPMIxUnderAuto: Bool { !onlyMPICH && !startsNoMPI }
    }

    private struct Key: Hashable {
        let path: String
        let inode: UInt64
        let size: Int64
        let modified: Int
    }

    private let cache = Mutex<[Key: Libraries]>([:])

    /// Whether the executable at `path` links an MPI library.
    public func links(_ path: String) -> Bool {
        libraries(path).linksMPI
    }

    /// The MPI libraries of the executable at `path` as it runs with `environments` (the agent's and the job's):
    /// a preloaded library (``SelfContainedProgram/librariesArePreloaded(_:)``) can bring MPI into any program,
    /// so then none is self-contained.
    public func libraries(_ path: String, runningWith environments: [String: String]...) -> Libraries {
        var found = libraries(path)
        if found.selfContained, SelfContainedProgram.librariesArePreloaded(in: environments) { found.selfContained = false }
        return found
    }

    /// The MPI libraries the executable at `path` names (none if it cannot be read).
    public func libraries(_ path: String) -> Libraries {
        var info = stat()
        guard stat(path, &info) == 0 else { return Libraries() }
        let key = Key(path: path, inode: UInt64(info.st_ino), size: Int64(info.st_size), modified: info.st_mtim.tv_sec)
        if let known = cache.withLock({ $0[key] }) { return known }
        let found = Self.scan(path)
        cache.withLock { $0[key] = found }
        return found
    }

    /// The MPI libraries named in the first ``searchedBytes`` of the file at `path`.
    static func scan(_ path: String) -> Libraries {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return Libraries() }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return Libraries() }
        var head = [UInt8](repeating: 0, count: min(searchedBytes, max(0, Int(info.st_size))))
        var filled = 0
        while filled < head.count {
            let count = head.withUnsafeMutableBytes { read(fd, $0.baseAddress! + filled, $0.count - filled) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            filled += count
        }
        return head.withUnsafeBytes { bytes in
            let searched = UnsafeRawBufferPointer(rebasing: bytes[..<filled])
            func names(_ libraries: [String]) -> Bool { libraries.contains { contains(Array($0.utf8), in: searched) } }
            return Libraries(mpich: names(mpichLibraries), other: names(otherLibraries), selfContained: SelfContainedProgram.check(fd))
        }
    }

    /// Whether `needle` occurs in `haystack` (`memchr` for its first byte, then `memcmp`).
    static func contains(_ needle: [UInt8], in haystack: UnsafeRawBufferPointer) -> Bool {
        guard let first = needle.first, let base = haystack.baseAddress, haystack.count >= needle.count else { return false }
        let end = base + (haystack.count - needle.count + 1)
        var cursor = base
        while cursor < end, let found = memchr(cursor, Int32(first), end - cursor) {
            let candidate = UnsafeRawPointer(found)
            if memcmp(candidate, needle, needle.count) == 0 { return true }
            cursor = candidate + 1
        }
        return false
    }
}
