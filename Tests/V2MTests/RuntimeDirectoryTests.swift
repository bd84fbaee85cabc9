import Foundation
import NIOCore
import Testing
@testable import V2M

/// Where a VM's runtime directory goes: under the state directory while every socket it will hold (up to a
/// migration's `m999-guest.sock`) stays within the socket library's limit, else under `/tmp/vhpc-<uid>`.
@Suite struct RuntimeDirectoryTests {
    @Test func theLongestVMSocketFitsExactlyAtTheEdge() throws {
        let base = NSTemporaryDirectory() + "vhpc-runtime-edge-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: base) }
        let name = "boot-1-1"
        let room = RuntimeDirectory.longestSocketPath - base.utf8.count - 1 - "/\(name)/m999-guest.sock".utf8.count
        let parent = base + "/" + String(repeating: "r", count: room)
        let directory = try RuntimeDirectory.make(name: name, preferredParent: parent)
        #expect(directory == parent + "/" + name)
        #expect(throws: Never.self) { _ = try SocketAddress(unixDomainSocketPath: directory + "/m999-guest.sock") }

        let tooDeep = try RuntimeDirectory.make(name: "boot-1-2", preferredParent: parent + "x")
        defer { try? FileManager.default.removeItem(atPath: tooDeep) }
        #expect(tooDeep == RuntimeDirectory.fallbackParent + "/boot-1-2")
    }
}
