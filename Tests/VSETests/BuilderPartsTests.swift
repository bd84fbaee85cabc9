import Foundation
import HostProcess
import Testing
@testable import VSE

@Suite struct BuilderPartsTests {
    @Test func moduleClosureFollowsModulesDep() {
        let dep = """
        kernel/drivers/virtio/virtio.ko:
        kernel/drivers/virtio/virtio_ring.ko:
        kernel/drivers/virtio/virtio_mmio.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
        kernel/drivers/net/virtio_net.ko: kernel/drivers/net/net_failover.ko kernel/net/core/failover.ko kernel/drivers/virtio/virtio.ko
        kernel/drivers/net/net_failover.ko: kernel/net/core/failover.ko
        kernel/net/core/failover.ko:
        kernel/drivers/char/hw_random/virtio-rng.ko: kernel/drivers/virtio/virtio.ko
        """
        let modules = ModuleDependencies(text: dep)
        #expect(modules.closure(of: ["virtio_net"]) == [
            "kernel/drivers/net/net_failover.ko", "kernel/drivers/net/virtio_net.ko",
            "kernel/drivers/virtio/virtio.ko", "kernel/net/core/failover.ko",
        ])
        #expect(modules.contains("virtio_rng"))  // file is virtio-rng.ko
        #expect(!modules.contains("virtio_console"))
        #expect(modules.closure(of: ["nonexistent"]).isEmpty)
    }

    @Test func unknownPackagesAreExtractedFromAptErrors() {
        let text = """
        E: Unable to locate package no-such-pkg-xyz
        E: Package 'virtual-thing' has no installation candidate
        E: Unable to locate package no-such-pkg-xyz
        """
        #expect(DebianBootstrap.unknownPackages(in: text) == ["no-such-pkg-xyz", "virtual-thing"])
        #expect(DebianBootstrap.unknownPackages(in: "E: some other failure").isEmpty)
    }

    @Test func lddClosureIncludesTheLoader() throws {
        let libraries = try RootfsAssembler.sharedLibraries(of: "/bin/ls")
        #expect(libraries.contains { $0.hasSuffix("/libc.so.6") })
        #expect(libraries.contains { $0.contains("ld-linux") })
        #expect(libraries.allSatisfy { $0.hasPrefix("/") })
    }

    @Test func kernelMetapackagesResolveToVersionedImages() {
        #expect(KernelProvider.isVersionedImage("linux-image-6.1.0-56-cloud-amd64"))
        #expect(!KernelProvider.isVersionedImage("linux-image-cloud-amd64"))
        let fields = KernelProvider.controlFields("Package: x\nVersion: 1.2-3\nDepends: linux-image-6.1.0-1-cloud-amd64 (= 6.1.1)\n")
        #expect(fields?["Version"] == "1.2-3")
        #expect(fields?["Depends"] == "linux-image-6.1.0-1-cloud-amd64 (= 6.1.1)")
    }

    @Test func manifestRoundTripsThroughJSON() throws {
        let manifest = ImageManifest(
            id: String(repeating: "a", count: 64), name: "tiny", specHash: "b", builderVersion: "2",
            createdAt: Date(timeIntervalSince1970: 1_700_000_000), base: "busybox", format: "initramfs",
            kernel: Artifact(path: "vmlinuz", size: 10, sha256: "c"), initrd: Artifact(path: "initrd.img", size: 20, sha256: "d"),
            disk: nil, diskFormat: nil, kernelRelease: "6.1", kernelCommandLine: "rdinit=/init",
            guestChannel: GuestChannelDescription(), modules: ["virtio_mmio"], environment: ["A": "1"],
            defaultVCPUs: 1, defaultMemoryBytes: 256 << 20)
        let decoded = try ImageManifest.decode(try manifest.encoded())
        #expect(decoded == manifest)
        let json = String(decoding: try manifest.encoded(), as: UTF8.self)
        #expect(json.contains("\"kernelCommandLine\" : \"rdinit=\\/init\"") || json.contains("\"kernelCommandLine\" : \"rdinit=/init\""))
        #expect(!json.lowercased().contains("qemu"))  // hypervisor-agnostic
    }

    @Test func concurrentPublishKeepsOneCompleteEntry() throws {
        let parent = try TemporaryDirectory(in: NSTemporaryDirectory(), prefix: "publish-test")
        defer { parent.remove() }
        let destination = parent.path + "/entry"
        var winners = 0
        for index in 0..<4 {
            let source = parent.path + "/src\(index)"
            try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
            try Data("build \(index)".utf8).write(to: URL(fileURLWithPath: source + "/payload"))
            if try AtomicRename.publish(source, to: destination) { winners += 1 }
            #expect(!FileManager.default.fileExists(atPath: source))
        }
        #expect(winners == 1)
        #expect(try String(contentsOfFile: destination + "/payload", encoding: .utf8) == "build 0")
    }

    @Test func staleBuildDirectoriesOfDeadProcessesAreRemoved() throws {
        let parent = try TemporaryDirectory(in: NSTemporaryDirectory(), prefix: "stale-test")
        defer { parent.remove() }
        let dead = parent.path + "/.build-x-999999-abcdef"  // pid 999999 does not exist
        let alive = parent.path + "/.build-x-\(getpid() == 1 ? 2 : 1)-abcdef"  // pid 1 always exists
        for path in [dead, alive] { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
        TemporaryDirectory.removeStale(in: parent.path)
        #expect(!FileManager.default.fileExists(atPath: dead))
        #expect(FileManager.default.fileExists(atPath: alive))
    }

    /// Ctrl-C handling kills build steps by process group: each child must lead its own group.
    @Test func hostCommandChildrenLeadTheirOwnProcessGroup() throws {
        let output = try HostCommand("/bin/sh", ["-c", "echo $$ $(cut -d' ' -f5 /proc/$$/stat)"]).run().stdoutText
        let fields = output.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        #expect(fields.count == 2)
        #expect(fields.first == fields.last, "pid and process group differ: \(output)")
        #expect(fields.first != String(getpgrp()))
    }

    @Test func hostCommandReportsFailureStatusAndStderr() {
        #expect(throws: HostCommandError.self) { try HostCommand("/bin/sh", ["-c", "echo broken >&2; exit 4"]).run() }
        do {
            try HostCommand("/bin/sh", ["-c", "echo broken >&2; exit 4"]).run()
        } catch {
            #expect("\(error)".contains("exit status 4"))
            #expect("\(error)".contains("broken"))
        }
    }
}
