import Crypto
import Foundation
import HostProcess
import Synchronization
import VSE

/// What a saved guest must match to be restored: the image, the machine shape (everything on QEMU's command
/// line that becomes migrated device state: machine, accelerator, CPU model, vCPUs, memory, NICs, disk,
/// guest port) and the exact QEMU version. Its hash names the snapshot cache entry.
public struct SnapshotKey: Sendable, Equatable {
    public var imageID: String
    public var shape: String
    public var hypervisor: String

    /// Bumped when what vhpc saves changes.
    static let format = "vhpc-snapshot-2"

    public init(imageID: String, shape: String, hypervisor: String) {
        self.imageID = imageID
        self.shape = shape
        self.hypervisor = hypervisor
    }

    /// The key of `profile` under `accelerator` with the QEMU `locator` finds.
    public init(profile: VMProfile, accelerator: Accelerator, locator: ExecutableLocator) async throws {
        let line = QEMUCommandLine(profile: profile, accelerator: accelerator, qmpSocketPath: nil, consoleLogPath: "")
        let cpu = line.arguments.drop { $0 != "-cpu" }.dropFirst().first ?? "default"
        let shape = "microvm accel=\(accelerator.rawValue) cpu=\(cpu) vcpus=\(profile.vcpus) memory=\(profile.memoryMiB)M "
            + "nics=\(profile.nics.count) disk=\(profile.disk == nil ? "no" : "yes") port=\(profile.guestChannel.portName)"
        self.init(imageID: profile.imageID, shape: shape, hypervisor: try await Self.qemuVersion(locator))
    }

    /// The cache entry's name.
    public var digest: String {
        SHA256.hash(data: Data("\(Self.format)\n\(imageID)\n\(shape)\n\(hypervisor)\n".utf8))
            .map { String(format: "%02x", $0) }.joined()
    }

    /// What the entry's meta must say.
    public var meta: SnapshotStore.Meta {
        SnapshotStore.Meta(key: digest, imageID: imageID, shape: shape, hypervisor: hypervisor)
    }

    private static let versions = Mutex<[String: String]>([:])

    /// `qemu-system-x86_64 --version`'s first line (asked once per process and binary).
    static func qemuVersion(_ locator: ExecutableLocator) async throws -> String {
        let qemu = try locator.require("qemu-system-x86_64")
        if let known = versions.withLock({ $0[qemu] }) { return known }
        let output = try await V2MError.mapping { () async throws(HostCommandError) in try await HostCommand(qemu, ["--version"]).output() }
        let line = output.stdoutText.split(separator: "\n").first.map(String.init) ?? "unknown"
        versions.withLock { $0[qemu] = line }
        return line
    }
}
