import Foundation
import Testing
@testable import NodeAgent
#if canImport(Glibc)
import Glibc
#endif

/// MPI ranks get the node's hwloc topology from the agent's XML file: only MPI programs', never over a user's
/// choice, from a file named after the machine view it describes.
@Suite struct HwlocTopologyTests {
    let mpich = MPILinkage.Libraries(mpich: true)

    @Test func onlyMPIProgramsGetTheTopology() {
        #expect(HwlocTopology.wanted(by: mpich, taskEnvironment: ["PATH": "/usr/bin"]))
        #expect(HwlocTopology.wanted(by: MPILinkage.Libraries(other: true), taskEnvironment: [:]))
        #expect(!HwlocTopology.wanted(by: MPILinkage.Libraries(), taskEnvironment: [:]))
        #expect(!HwlocTopology.wanted(by: MPILinkage.Libraries(selfContained: true), taskEnvironment: [:]))
        #expect(HwlocTopology.environment(xmlFile: "/c/t.xml") == ["HWLOC_XMLFILE": "/c/t.xml", "HWLOC_THISSYSTEM": "1"])
    }

    @Test func aUserChoiceOfHwlocsSourceIsLeftAlone() {
        for variable in ["HWLOC_XMLFILE", "HWLOC_SYNTHETIC", "HWLOC_FSROOT", "HWLOC_CPUID_PATH", "HWLOC_THISSYSTEM"] {
            #expect(HwlocTopology.userChose([variable: "x"]), "\(variable)")
            #expect(!HwlocTopology.wanted(by: mpich, taskEnvironment: [variable: "x"]), "\(variable)")
        }
        // Other hwloc variables (its verbosity; which components discover, which the agent's own discovery
        // follows, see theFileNameFollowsTheMachineView) do not choose the source.
        #expect(!HwlocTopology.userChose(["HWLOC_HIDE_ERRORS": "1", "HWLOC_COMPONENTS": "-linuxio,-pci"]))
        #expect(HwlocTopology.wanted(by: mpich, taskEnvironment: ["HWLOC_HIDE_ERRORS": "1"]))
    }

    @Test func theFileNameFollowsTheMachineView() {
        let view = ["boot-1\n", "0-1\n", "Cpus_allowed_list:\t0-1", "0::/\n", ""]
        let name = HwlocTopology.cacheFileName(facts: view)
        #expect(name == HwlocTopology.cacheFileName(facts: view))
        #expect(name.hasPrefix(HwlocTopology.filePrefix) && name.hasSuffix(".xml") && name.count == HwlocTopology.filePrefix.count + 24 + 4)
        for index in view.indices {
            var other = view
            other[index] += "changed"
            #expect(HwlocTopology.cacheFileName(facts: other) != name, "fact \(index)")
        }
        // Facts are kept apart: moving text from one to the next is another view.
        #expect(HwlocTopology.cacheFileName(facts: ["ab", "c"]) != HwlocTopology.cacheFileName(facts: ["a", "bc"]))
    }

    @Test func theCacheWritesTheTopologyOnceAndRemovesOnlyStaleViews() throws {
        // make test installs MPICH, which brings hwloc 2 (libhwloc15): without it this test would check nothing.
        try #require(dlopen("libhwloc.so.15", RTLD_NOW | RTLD_LOCAL) != nil, "libhwloc.so.15 is missing (apt-get install libhwloc15)")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hwloc-cache-\(getpid())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let stale = directory + "/" + HwlocTopology.filePrefix + "stale.xml"
        let recent = directory + "/" + HwlocTopology.filePrefix + "recent.xml"
        for file in [stale, recent] { #expect(FileManager.default.createFile(atPath: file, contents: Data("x".utf8))) }
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -2 * HwlocTopologyCache.staleAfter)], ofItemAtPath: stale)

        let file = try #require(HwlocTopologyCache.file(directory: directory))
        #expect(file == directory + "/" + HwlocTopology.cacheFileName(facts: HwlocTopologyCache.facts()))
        let xml = try String(contentsOfFile: file, encoding: .utf8)
        #expect(xml.contains("<topology") && xml.contains("</topology>"))
        #expect(!FileManager.default.fileExists(atPath: stale) && FileManager.default.fileExists(atPath: recent))
        let entries = try FileManager.default.contentsOfDirectory(atPath: directory)
        #expect(entries.allSatisfy { !$0.hasSuffix(".tmp") })

        // Found, not written again, by the next job.
        let inode = try #require(FileManager.default.attributesOfItem(atPath: file)[.systemFileNumber] as? UInt64)
        #expect(HwlocTopologyCache.file(directory: directory) == file)
        let again = try FileManager.default.attributesOfItem(atPath: file)[.systemFileNumber] as? UInt64
        #expect(again == inode)
    }
}
