import Foundation
import HostProcess

/// Creates and removes per-VM copy-on-write overlays (`qemu-img create -f qcow2 -b BASE -F FMT`).
///
/// The overlay starts at a few hundred KiB whatever the base size: the base image is never copied.
public enum OverlayDisk {
    /// The `qemu-img` argv that creates `disk.overlayPath` backed by `disk.basePath` (pure).
    public static func createArguments(for disk: VMDisk, qemuImg: String = "qemu-img") -> [String] {
        [qemuImg, "create", "-q", "-f", "qcow2", "-b", disk.basePath, "-F", disk.baseFormat, disk.overlayPath]
    }

    /// Creates the overlay (replacing a stale one).
    public static func create(_ disk: VMDisk, locator: ExecutableLocator = ExecutableLocator()) async throws(V2MError) {
        let qemuImg = try locator.require("qemu-img")
        guard FileManager.default.fileExists(atPath: disk.basePath) else {
            throw .invalidProfile("base disk \(disk.basePath) does not exist")
        }
        try? FileManager.default.removeItem(atPath: disk.overlayPath)
        let argv = createArguments(for: disk, qemuImg: qemuImg)
        _ = try await V2MError.mapping { () async throws(HostCommandError) in
            try await HostCommand(argv[0], Array(argv.dropFirst())).output()
        }
    }

    /// Removes the overlay if present.
    public static func remove(_ disk: VMDisk) {
        try? FileManager.default.removeItem(atPath: disk.overlayPath)
    }
}
