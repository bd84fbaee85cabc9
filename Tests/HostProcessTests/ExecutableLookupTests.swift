import Foundation
import Testing

@testable import HostProcess

/// The one PATH search: what counts as a program, in which order, and an explicit path.
@Suite struct ExecutableLookupTests {
    /// A scratch directory with `tool` (executable), `data` (not executable) and `dir/` (a directory).
    static func scratch() throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lookup-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory + "/dir", withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: directory + "/tool", contents: Data("#!/bin/sh\n".utf8), attributes: [.posixPermissions: 0o755])
        FileManager.default.createFile(atPath: directory + "/data", contents: Data(), attributes: [.posixPermissions: 0o644])
        return directory
    }

    @Test func findsExecutableRegularFilesInPathOrder() throws {
        let first = try Self.scratch(), second = try Self.scratch()
        defer { for directory in [first, second] { try? FileManager.default.removeItem(atPath: directory) } }
        #expect(ExecutableLookup.resolve("tool", path: "/nonexistent:\(first):\(second)") == first + "/tool")
        #expect(ExecutableLookup.resolve("tool", path: "\(second):\(first)") == second + "/tool")
        // Not executable, a directory, missing: nothing.
        #expect(ExecutableLookup.resolve("data", path: first) == nil)
        #expect(ExecutableLookup.resolve("dir", path: first) == nil)
        #expect(ExecutableLookup.resolve("missing", path: first) == nil)
        #expect(ExecutableLookup.resolve("", path: first) == nil)
    }

    @Test func aNameWithASlashIsTakenAsGiven() throws {
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(ExecutableLookup.resolve(directory + "/tool", path: "") == directory + "/tool")
        #expect(ExecutableLookup.resolve(directory + "/data") == nil)
        #expect(ExecutableLookup.resolve(directory + "/dir") == nil)
    }

    @Test func theProcessPathIsTheDefault() {
        #expect(ExecutableLookup.resolve("sh") != nil)
        #expect(ExecutableLookup.currentExecutable().hasPrefix("/"))
    }
}
