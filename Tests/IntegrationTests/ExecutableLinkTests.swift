import Foundation
import Testing

/// `vhpc` and `vhpc-agent` start on the path of every job and every agent: they are linked position-dependent
/// (Package.swift, `-no-pie`), so a start dirties no relocated page. A build that loses the flag is a PIE again
/// (ELF type `ET_DYN`) and each start pays ~4 ms of page faults and relocations here: fail on it.
@Suite struct ExecutableLinkTests {
    /// The ELF header's `e_type` (offset 16, little-endian) of the file at `path`.
    static func elfType(_ path: String) throws -> UInt16 {
        let handle = try #require(FileHandle(forReadingAtPath: path), "cannot open \(path)")
        defer { try? handle.close() }
        let header = try #require(try handle.read(upToCount: 18), "cannot read \(path)")
        try #require(header.count == 18 && header.prefix(4) == Data([0x7f, 0x45, 0x4c, 0x46]), "\(path) is not an ELF file")
        return UInt16(header[16]) | UInt16(header[17]) << 8
    }

    @Test(arguments: ["vhpc", "vhpc-agent"])
    func theFrontEndAndTheAgentArePositionDependent(_ name: String) throws {
        let path = CLI.productsDirectory + "/" + name
        let executableType: UInt16 = 2  // ET_EXEC; a PIE is ET_DYN (3)
        #expect(try Self.elfType(path) == executableType, "\(path) is not linked position-dependent (-no-pie)")
    }
}
