#if canImport(Glibc)
import Glibc
#endif

/// Tells, from its ELF file, a program that can bring no MPI into its process nor start one: a dynamic
/// executable (64-bit, little-endian) whose only libraries are the C library's (`libc.so.6`, `libm.so.6`)
/// and which imports no function that loads a library or runs another program (`dlopen`, the `exec`
/// family, `posix_spawn`, `system`, `popen`, raw `syscall`). `true`, `hostname` or `sleep` are; a script,
/// a static binary, `env`, `sh`, `python3` (which may `dlopen` mpi4py's MPI) and anything unreadable are not.
///
/// Under `--mpi auto` such a program's tasks need neither PMI-1 nor PMIx (``MPILinkage/Libraries/startsNoMPI``).
public enum SelfContainedProgram {
    /// Libraries a self-contained program may need.
    static let baseLibraries: Set<String> = ["libc.so.6", "libm.so.6"]
    /// Imports through which a program could load a library or start another program.
    static let openings: Set<String> = [
        "dlopen", "dlmopen", "execve", "execveat", "fexecve", "execv", "execvp", "execvpe", "execl", "execlp",
        "execle", "posix_spawn", "posix_spawnp", "system", "popen", "syscall",
    ]
    /// Larger dynamic sections are not read (a program with so many imports is no small utility).
    static let maximumSectionBytes = 1 << 20

    /// Whether the executable open at `fd` is self-contained (false if it cannot be read as one).
    static func check(_ fd: Int32) -> Bool {
        guard let header = read(fd, at: 0, count: 64), header.count == 64,
              header[0] == 0x7f, header[1] == UInt8(ascii: "E"), header[2] == UInt8(ascii: "L"), header[3] == UInt8(ascii: "F"),
              header[4] == 2, header[5] == 1 else { return false }  // ELFCLASS64, ELFDATA2LSB
        let programHeaders = Int(header.load(64, at: 32)), programEntry = Int(header.load(16, at: 54)), programCount = Int(header.load(16, at: 56))
        let sectionHeaders = Int(header.load(64, at: 40)), sectionEntry = Int(header.load(16, at: 58)), sectionCount = Int(header.load(16, at: 60))
        // A dynamic executable names its loader (PT_INTERP = 3); a static one has none and can hold anything.
        guard programEntry >= 56, programCount > 0, programCount < 256,
              let phdrs = read(fd, at: programHeaders, count: programEntry * programCount),
              (0..<programCount).contains(where: { phdrs.load(32, at: $0 * programEntry) == 3 }) else { return false }
        guard sectionEntry >= 64, sectionCount > 0, sectionCount < 4096,
              let shdrs = read(fd, at: sectionHeaders, count: sectionEntry * sectionCount) else { return false }
        struct Section { let type: UInt64, offset: Int, size: Int, link: Int, entry: Int }
        let sections = (0..<sectionCount).map { index in
            let base = index * sectionEntry
            return Section(type: shdrs.load(32, at: base + 4), offset: Int(shdrs.load(64, at: base + 24)), size: Int(shdrs.load(64, at: base + 32)),
                           link: Int(shdrs.load(32, at: base + 40)), entry: Int(shdrs.load(64, at: base + 56)))
        }
        func contents(_ section: Section) -> [UInt8]? {
            guard section.size <= maximumSectionBytes else { return nil }
            return read(fd, at: section.offset, count: section.size)
        }
        func strings(of section: Section) -> [UInt8]? {
            guard section.link < sections.count else { return nil }
            return contents(sections[section.link])
        }
        // SHT_DYNAMIC = 6: its DT_NEEDED (1) entries name the libraries.
        guard let dynamic = sections.first(where: { $0.type == 6 }), let table = contents(dynamic), let names = strings(of: dynamic) else { return false }
        var index = 0
        while index + 16 <= table.count {
            let tag = table.load(64, at: index), value = Int(table.load(64, at: index + 8))
            if tag == 0 { break }
            if tag == 1 { guard let name = names.cString(at: value), baseLibraries.contains(name) else { return false } }
            index += 16
        }
        // SHT_DYNSYM = 11: undefined symbols (section index 0) are the imports.
        guard let symbolSection = sections.first(where: { $0.type == 11 }), symbolSection.entry >= 24,
              let symbols = contents(symbolSection), let symbolNames = strings(of: symbolSection) else { return false }
        var offset = 0
        while offset + 24 <= symbols.count {
            if symbols.load(16, at: offset + 6) == 0, let name = symbolNames.cString(at: Int(symbols.load(32, at: offset))), openings.contains(name) {
                return false
            }
            offset += symbolSection.entry
        }
        return true
    }

    /// Whether a library is preloaded into every program (`LD_PRELOAD` or `LD_AUDIT` in one of `environments`,
    /// or `/etc/ld.so.preload`): then no program is self-contained.
    public static func librariesArePreloaded(_ environments: [String: String]...) -> Bool {
        librariesArePreloaded(in: environments)
    }

    /// ``librariesArePreloaded(_:)`` for a list of environments.
    static func librariesArePreloaded(in environments: [[String: String]]) -> Bool {
        environments.contains { environment in
            ["LD_PRELOAD", "LD_AUDIT"].contains { !(environment[$0] ?? "").isEmpty }
        } || access("/etc/ld.so.preload", F_OK) == 0
    }

    /// `count` bytes at `offset`, nil unless all of them could be read.
    private static func read(_ fd: Int32, at offset: Int, count: Int) -> [UInt8]? {
        guard offset >= 0, count >= 0, count <= maximumSectionBytes else { return nil }
        var bytes = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let got = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + filled, count - filled, off_t(offset + filled)) }
            if got < 0, errno == EINTR { continue }
            guard got > 0 else { return nil }
            filled += got
        }
        return bytes
    }
}

private extension [UInt8] {
    /// The little-endian unsigned integer of `bits` bits at `offset` (0 past the end).
    func load(_ bits: Int, at offset: Int) -> UInt64 {
        let width = bits / 8
        guard offset >= 0, offset + width <= count else { return 0 }
        var value: UInt64 = 0
        for byte in (0..<width).reversed() { value = value << 8 | UInt64(self[offset + byte]) }
        return value
    }

    /// The NUL-terminated string at `offset`, nil if it runs past the end.
    func cString(at offset: Int) -> String? {
        guard offset >= 0, offset < count, let end = self[offset...].firstIndex(of: 0) else { return nil }
        return String(decoding: self[offset..<end], as: UTF8.self)
    }
}
