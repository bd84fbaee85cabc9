import Control
@testable import NodeAgent
import Foundation
import Testing

/// Node directories of agents that died without removing them: who owns one, when it counts as abandoned,
/// and that the sweep removes exactly those (real directories in a temporary one).
@Suite struct PMIxNodeDirectoryTests {
    @Test func theOwnerFileRoundTripsAndAnythingElseIsNoOwner() {
        let owner = PMIxDirectoryOwner(host: "node7", pid: 4242, start: 123_456)
        #expect(PMIxDirectoryOwner(text: owner.text) == owner)
        for text in ["", "host=node7 pid=4242", "host=node7 pid=4242 start=x", "host= pid=1 start=2", "host=a pid=0 start=2",
                     "host=a pid=-3 start=2", "host=a pid=1 start=2 extra=3", "garbage", "host=a pid=1 start=2 start"] {
            #expect(PMIxDirectoryOwner(text: text) == nil, "\(text)")
        }
    }

    @Test func anOwnerIsGoneWhenItsPidIsDeadOrRunsAnotherProcess() {
        let owner = PMIxDirectoryOwner(host: "node7", pid: 4242, start: 100)
        #expect(owner.isAbandoned(host: "node7") { _ in nil })  // no such process
        #expect(owner.isAbandoned(host: "node7") { _ in 200 })  // the pid was reused
        #expect(!owner.isAbandoned(host: "node7") { _ in 100 })  // alive
        #expect(!owner.isAbandoned(host: "node8") { _ in nil })  // another machine's: never judged here
    }

    @Test func theSweepRemovesOnlyOurDirectoriesOfDeadOwners() throws {
        let parent = NSTemporaryDirectory() + "vhpc-pmix-dirs-test-\(getpid())"
        try? FileManager.default.removeItem(atPath: parent)
        try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let host = try #require(PMIxDirectoryOwner.hostName)
        let me = try #require(PMIxDirectoryOwner.current)
        func directory(_ name: String, owner: PMIxDirectoryOwner?) throws -> String {
            let path = parent + "/" + name
            try FileManager.default.createDirectory(atPath: path + "/pmix_dstor_ds12_1", withIntermediateDirectories: true)
            try Data("segment".utf8).write(to: URL(fileURLWithPath: path + "/pmix_dstor_ds12_1/file"))
            if let owner { try owner.text.write(toFile: path + "/" + PMIxNodeDirectory.ownerFileName, atomically: false, encoding: .utf8) }
            return path
        }
        let dead = try directory("vhpc-pmix-job-1-vhpc-node0", owner: PMIxDirectoryOwner(host: host, pid: me.pid, start: me.start + 1))
        let live = try directory("vhpc-pmix-job-2-vhpc-node0", owner: me)
        let unowned = try directory("vhpc-pmix-job-3-vhpc-node0", owner: nil)
        let elsewhere = try directory("vhpc-pmix-job-4-vhpc-node0", owner: PMIxDirectoryOwner(host: host + "-other", pid: 1, start: 1))
        let otherName = try directory("other-job-5-vhpc-node0", owner: PMIxDirectoryOwner(host: host, pid: me.pid, start: me.start + 1))
        // A link named like a node directory, to a dead owner's directory: skipped, never followed.
        let target = try directory("target", owner: PMIxDirectoryOwner(host: host, pid: me.pid, start: me.start + 1))
        try FileManager.default.createSymbolicLink(atPath: parent + "/vhpc-pmix-link-vhpc-node0", withDestinationPath: target)
        var kept = [live, unowned, elsewhere, otherName, target]
        if geteuid() == 0 {
            // Another user's directory, whatever its owner file says.
            let foreign = try directory("vhpc-pmix-job-6-vhpc-node0", owner: PMIxDirectoryOwner(host: host, pid: me.pid, start: me.start + 1))
            #expect(chown(foreign, 65534, 65534) == 0)
            kept.append(foreign)
        }

        #expect(PMIxNodeDirectory.sweepAbandoned(in: parent) == [dead])
        #expect(!FileManager.default.fileExists(atPath: dead))
        for path in kept { #expect(FileManager.default.fileExists(atPath: path + "/pmix_dstor_ds12_1/file"), "\(path)") }
        #expect(FileManager.default.fileExists(atPath: parent + "/vhpc-pmix-link-vhpc-node0"))
    }

    @Test func aCreatedDirectoryIsPrivateAndNamesItsCreator() throws {
        let path = NSTemporaryDirectory() + "vhpc-pmix-create-test-\(getpid())"
        defer { PMIxNodeDirectory.remove(path) }
        try PMIxNodeDirectory.create(path)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o700)
        #expect(PMIxDirectoryOwner.read(path + "/" + PMIxNodeDirectory.ownerFileName) == PMIxDirectoryOwner.current)
        #expect(PMIxDirectoryOwner.current.map { !$0.isAbandoned(host: $0.host, startTime: PMIxDirectoryOwner.startTime(of:)) } == true)
    }
}
