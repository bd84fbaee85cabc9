import Foundation
@testable import V2M
import VSE

/// Fixed profiles and images for pure tests and golden files.
enum Fixtures {
    static let imageDirectory = "/var/lib/vhpc/images/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

    static func manifest(disk: Bool) -> ImageManifest {
        ImageManifest(
            id: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", name: "tiny", specHash: "s",
            builderVersion: "2", createdAt: Date(timeIntervalSince1970: 0), base: "busybox",
            format: disk ? "qcow2" : "initramfs",
            kernel: Artifact(path: "vmlinuz", size: 1, sha256: "k"), initrd: Artifact(path: "initrd.img", size: 1, sha256: "i"),
            disk: disk ? Artifact(path: "disk.qcow2", size: 1, sha256: "d") : nil, diskFormat: disk ? "qcow2" : nil,
            kernelRelease: "6.1.0-56-cloud-amd64", kernelCommandLine: "rdinit=/init",
            guestChannel: GuestChannelDescription(), modules: [], environment: [:], defaultVCPUs: 1,
            defaultMemoryBytes: 256 << 20)
    }

    static func image(disk: Bool) -> ImageEntry {
        ImageEntry(manifest: manifest(disk: disk), directory: imageDirectory)
    }

    static func profile(disk: Bool = true, nics: Int = 1, vcpus: Int = 2) -> VMProfile {
        let name = "job7-n0-1"
        return VMProfile(image: image(disk: disk), name: name, vcpus: vcpus, memoryBytes: 512 << 20,
                         runtimeDirectory: "/var/lib/vhpc/vms/\(name)",
                         nics: (0..<nics).map { VMNIC(mac: VMNIC.mac(for: name, index: $0), network: .user) })
    }
}

/// Compares text with `tests/golden/<name>`; `V2M_UPDATE_GOLDEN=1` rewrites the file instead.
enum Golden {
    static var root: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().resolvingSymlinksInPath()
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("tests/golden")
    }

    /// The golden text, or nil when missing.
    static func check(_ text: String, against name: String) throws -> String? {
        let url = root.appendingPathComponent(name)
        if ProcessInfo.processInfo.environment["V2M_UPDATE_GOLDEN"] == "1" {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
        return try? String(contentsOf: url, encoding: .utf8)
    }
}
