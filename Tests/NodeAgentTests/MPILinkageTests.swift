import Foundation
import Testing
import Control
@testable import NodeAgent

/// Telling programs that link an MPI library from others, by their executable's bytes.
@Suite struct MPILinkageTests {
    @Test func namesOfMPILibrariesAreFoundAndOtherProgramsAreNot() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mpilinkage-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let openMPI = directory.appendingPathComponent("ompi").path
        let mpich = directory.appendingPathComponent("mpich").path
        let plain = directory.appendingPathComponent("plain").path
        let padding = [UInt8](repeating: 0x7f, count: 100_000)
        FileManager.default.createFile(atPath: openMPI, contents: Data(padding + Array("\0libmpi.so.40\0".utf8)))
        FileManager.default.createFile(atPath: mpich, contents: Data(Array("ELF\0libmpich.so.12\0".utf8) + padding))
        FileManager.default.createFile(atPath: plain, contents: Data(padding + Array("libmp.so libmpich".utf8)))
        #expect(MPILinkage.scan(openMPI))
        #expect(MPILinkage.scan(mpich))
        #expect(!MPILinkage.scan(plain))
        #expect(!MPILinkage.scan("/bin/true"))
        #expect(!MPILinkage.scan(directory.appendingPathComponent("missing").path))
        // Cached per file version: a rewritten file is read again.
        let linkage = MPILinkage()
        #expect(!linkage.links(plain))
        FileManager.default.createFile(atPath: plain, contents: Data(Array("libmpi_mpifh.so".utf8) + padding))
        #expect(linkage.links(plain))
        // Only asked when a task of a multi-task job ends without talking to PMI.
        let check = MPIExitCheck(size: 2, mode: .auto, linksMPI: true)
        #expect(check.failure(rank: 1, status: 0, connected: false, finalized: false) != nil)
    }
}
