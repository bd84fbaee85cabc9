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
        #expect(MPILinkage.scan(openMPI) == MPILinkage.Libraries(mpich: false, other: true))
        #expect(MPILinkage.scan(mpich) == MPILinkage.Libraries(mpich: true, other: false))
        #expect(MPILinkage.scan(mpich).onlyMPICH && !MPILinkage.scan(openMPI).onlyMPICH)
        #expect(!MPILinkage.scan(plain).linksMPI)
        #expect(!MPILinkage.scan("/bin/true").linksMPI)
        #expect(!MPILinkage.scan(directory.appendingPathComponent("missing").path).linksMPI)
        // An MPICH derivative's libmpi.so.12 (Intel MPI) may speak PMIx too: not "only MPICH".
        let both = directory.appendingPathComponent("both").path
        FileManager.default.createFile(atPath: both, contents: Data(Array("\0libmpich.so.12\0libmpi.so.12\0".utf8) + padding))
        #expect(MPILinkage.scan(both) == MPILinkage.Libraries(mpich: true, other: true))
        // Cached per file version: a rewritten file is read again.
        let linkage = MPILinkage()
        #expect(!linkage.links(plain))
        FileManager.default.createFile(atPath: plain, contents: Data(Array("libmpi_mpifh.so".utf8) + padding))
        #expect(linkage.links(plain))
        // Only asked when a task of a multi-task job ends without talking to PMI.
        let check = MPIExitCheck(size: 2, mode: .auto, linksMPI: true)
        #expect(check.failure(rank: 1, status: 0, connected: false, finalized: false) != nil)
    }

    /// Under --mpi auto a program that links only MPICH's library gets PMI-1 alone; every other program (and
    /// --mpi pmix) gets PMIx too.
    @Test func pmixIsServedToEveryProgramButOneThatLinksOnlyMPICH() {
        let mpich = MPILinkage.Libraries(mpich: true, other: false)
        let openMPI = MPILinkage.Libraries(mpich: false, other: true)
        let neither = MPILinkage.Libraries()
        func plan(_ mode: NodeTaskPlan.MPIMode) -> NodeTaskPlan {
            NodeTaskPlan(jobID: "j", agentRank: 1, node: 0, host: "h", taskRanks: 0..<4, size: 4, executable: "x",
                         arguments: [], environment: [NodeTaskPlan.mpiVariable: mode.rawValue], workingDirectory: "/")
        }
        #expect(!plan(.auto).servesPMIx(to: mpich))
        #expect(plan(.auto).servesPMIx(to: openMPI))
        #expect(plan(.auto).servesPMIx(to: neither))
        #expect(plan(.pmix).servesPMIx(to: mpich))
        #expect(!plan(.pmi1).servesPMIx(to: openMPI))
        #expect(!plan(.none).servesPMIx(to: openMPI))
        // Its rank that never talks to PMI-1 is still a singleton, failed, with why it got no PMIx.
        let check = MPIExitCheck(plan: plan(.auto), executable: "x", libraries: mpich, servedPMIx: false)
        let message = check.failure(rank: 2, status: 0, connected: false, finalized: false)
        #expect(message?.contains("rank 2 ran as an MPI singleton") == true)
        #expect(message?.contains("PMIx is not offered") == true)
    }

    /// A dynamic program that needs only the C library and can neither dlopen nor exec (`true`) can start no
    /// MPI; a shell, `env` (it execs), a static binary, a script, an MPI program or a missing file can.
    @Test func onlySelfContainedProgramsStartNoMPI() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("selfcontained-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let script = directory.appendingPathComponent("script").path
        FileManager.default.createFile(atPath: script, contents: Data("#!/bin/true\n".utf8))
        // /bin/true with its first byte changed: no longer an ELF file.
        let broken = directory.appendingPathComponent("broken").path
        var bytes = try Data(contentsOf: URL(fileURLWithPath: "/bin/true"))
        bytes[0] = 0
        FileManager.default.createFile(atPath: broken, contents: bytes)
        #expect(MPILinkage.scan("/bin/true").startsNoMPI)
        for program in ["/bin/sh", "/usr/bin/env", "/sbin/ldconfig", script, broken, directory.appendingPathComponent("missing").path] {
            #expect(!MPILinkage.scan(program).startsNoMPI, "\(program)")
        }
        #expect(!MPILinkage.Libraries(mpich: true, selfContained: true).startsNoMPI)
        #expect(SelfContainedProgram.librariesArePreloaded(["LD_PRELOAD": "/x/libmpi.so"]))
        #expect(SelfContainedProgram.librariesArePreloaded([:], ["LD_AUDIT": "a.so"]))
        #expect(SelfContainedProgram.librariesArePreloaded(["LD_PRELOAD": ""]) == FileManager.default.fileExists(atPath: "/etc/ld.so.preload"))
        // Under auto such a program gets neither server; --mpi pmi1 or pmix still serves it as asked.
        let plain = MPILinkage.Libraries(selfContained: true)
        func plan(_ mode: NodeTaskPlan.MPIMode) -> NodeTaskPlan {
            NodeTaskPlan(jobID: "j", agentRank: 1, node: 0, host: "h", taskRanks: 0..<4, size: 4, executable: "x",
                         arguments: [], environment: [NodeTaskPlan.mpiVariable: mode.rawValue], workingDirectory: "/")
        }
        #expect(!plan(.auto).servesPMI1(to: plain) && !plan(.auto).servesPMIx(to: plain))
        #expect(plan(.auto).servesPMI1(to: MPILinkage.Libraries()) && plan(.auto).servesPMIx(to: MPILinkage.Libraries()))
        #expect(plan(.pmi1).servesPMI1(to: plain) && plan(.pmix).servesPMIx(to: plain))
        #expect(!plan(.none).servesPMI1(to: MPILinkage.Libraries()))
    }
}
