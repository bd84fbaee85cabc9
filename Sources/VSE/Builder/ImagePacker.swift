import Foundation
import HostProcess

/// Turns a root filesystem tree into boot artifacts: a compressed newc cpio initramfs, an ext4 disk
/// made with `mkfs.ext4 -d` (no loop device, no mount), or a qcow2 converted from it.
enum ImagePacker {
    /// `find | cpio -o -H newc | lz4` (or gzip) over the tree, entries sorted for reproducibility.
    static func initramfs(from tree: String, to output: String, compression: InitrdCompression) throws {
        let script = "cd \(HostCommand.quoted(tree)) && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet --owner=0:0 | \(compression.filter) > \(HostCommand.quoted(output))"
        try HostCommand("/bin/bash", ["-o", "pipefail", "-c", script]).run()
    }

    /// An ext4 image sized to the tree plus headroom for the guest's writes.
    static func ext4(from tree: String, to output: String) throws {
        let used = try treeSize(tree)
        let size = max(used + used / 3 + (128 << 20), 256 << 20)
        let megabytes = (size + (1 << 20) - 1) >> 20
        try HostCommand("mkfs.ext4", ["-q", "-F", "-L", "vhpc-root", "-E", "root_owner=0:0", "-d", tree, output, "\(megabytes)M"]).run()
    }

    static func qcow2(fromRaw raw: String, to output: String) throws {
        try HostCommand("qemu-img", ["convert", "-q", "-f", "raw", "-O", "qcow2", raw, output]).run()
    }

    static func treeSize(_ tree: String) throws -> UInt64 {
        let output = try HostCommand("du", ["-sb", tree]).run().stdoutText
        return UInt64(output.split(separator: "\t").first ?? "0") ?? 0
    }
}
