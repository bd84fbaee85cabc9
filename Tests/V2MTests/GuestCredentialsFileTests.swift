import Foundation
import GuestProtocol
import Testing
@testable import V2M

/// The guest credentials file: owner-only, written atomically, kept when present, clear errors when bad.
@Suite struct GuestCredentialsFileTests {
    static func directory() -> String {
        let path = NSTemporaryDirectory() + "vhpc-credentials-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func writtenOwnerOnlyAndReadBack() throws {
        let path = Self.directory() + "/guest-credentials"
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        let credentials = GuestCredentials(jobID: "job-9", rank: 4, secret: .generate())
        try GuestCredentialsFile.write(credentials, to: path)
        let mode = try #require(FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
        #expect(mode & 0o777 == 0o600)
        let read = try GuestCredentialsFile.read(path, vmName: "vm")
        #expect(read.jobID == "job-9" && read.rank == 4 && read.secret == credentials.secret)
        // ensure keeps what a tool agent wrote; a VM on its own gets a fresh set.
        try GuestCredentialsFile.ensure(path, vmName: "vm")
        #expect(try GuestCredentialsFile.read(path, vmName: "vm").secret == credentials.secret)
        let other = (path as NSString).deletingLastPathComponent + "/other"
        try GuestCredentialsFile.ensure(other, vmName: "solo")
        #expect(try GuestCredentialsFile.read(other, vmName: "solo").jobID == "vm-solo")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: (path as NSString).deletingLastPathComponent)
        #expect(Set(leftovers) == ["guest-credentials", "other"], "no temporary files left")
    }

    @Test func missingOrBadFilesNameThePath() throws {
        let path = Self.directory() + "/guest-credentials"
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        #expect(throws: V2MError.guestChannel(vm: "vm", reason: "no guest credentials at \(path)")) {
            _ = try GuestCredentialsFile.read(path, vmName: "vm")
        }
        try "job=j\nrank=x\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: V2MError.guestChannel(vm: "vm", reason: "\(path): bad guest credentials: credentials without a rank")) {
            _ = try GuestCredentialsFile.read(path, vmName: "vm")
        }
    }

    @Test func theEndpointPutsCredentialsNextToTheSocket() {
        #expect(GuestChannelEndpoint(socketPath: "/run/vm1/guest.sock").credentialsPath == "/run/vm1/guest-credentials")
    }
}
