import Foundation
import Logging
import Testing
import V2M
import VSE

extension V2MSnapshotTests {
    /// `tiny` with its root on a qcow2 disk (busybox base: built in seconds, unlike a Debian one).
    static func diskImage() throws -> ImageEntry {
        let spec = CLI.stateDirectory + "/tiny-disk.yaml"
        try """
            name: tiny-disk
            base: busybox
            kernel: linux-image-cloud-amd64
            files:
              - {source: \(CLI.repositoryRoot)/examples/files/hello.txt, target: /opt/hello.txt, mode: "0644"}
            format: qcow2
            resources:
              vcpus: 1
              memory: 256M
            """.write(toFile: spec, atomically: true, encoding: .utf8)
        let built = try CLI.run(["vse", "build", "-q", spec])
        try #require(built.status == 0, "vse build: \(built.stderr)")
        return try ImageStore(state: StateDirectory(root: CLI.stateDirectory)).resolve(built.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    @Test("an image with a disk: restored VMs' overlays are backed by the template's; each sees the saved disk and only its own writes")
    func restoredVMsWithADisk() async throws {
        let image = try Self.diskImage()
        try #require(image.diskPath != nil)
        let state = V2MTestImage.scratchState()
        defer { try? FileManager.default.removeItem(atPath: state.root) }
        let store = SnapshotStore(state: state)
        let like = VMProfile(image: image, name: "like", runtimeDirectory: state.tmp + "/like", nics: [Self.nic(state, "like")])
        let entry = try await SnapshotBoot(stores: [store])
            .prepare(image: image, like: like, accelerator: .tcg, locator: ExecutableLocator(), logger: Logger(label: "test"))
        let saved = try Data(contentsOf: URL(fileURLWithPath: entry.diskPath))
        #expect(entry.meta.diskBytes == UInt64(saved.count) && entry.meta.diskBase == image.diskPath)

        // Each restored guest writes a file of its own, then looks for the other's; both read the image's file.
        let script = """
            cat /opt/hello.txt; grep -c ' / ext4 rw' /proc/mounts
            ls /mark-* 2>/dev/null || echo none; echo $(hostname) > /mark-$(hostname); sync; cat /mark-*
            echo errors=$(dmesg | grep -ci 'ext4.*error')
            """
        var outputs: [String] = []
        for rank in 0..<2 {
            let (out, result) = try await Self.run(image, script, options: Self.options(state, rank: rank))
            #expect(result.restored, "rank \(rank) booted cold")
            #expect(result.exitStatus == 0, "\(out)")
            outputs.append(out)
        }
        let hello = try String(contentsOfFile: CLI.repositoryRoot + "/examples/files/hello.txt", encoding: .utf8)
        for (rank, out) in outputs.enumerated() {
            #expect(out == hello + "1\nnone\ntiny-r\(rank)\nerrors=0\n", "rank \(rank): \(out)")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: entry.diskPath)) == saved, "a restored VM wrote to the template's overlay")
        #expect(store.lookup(entry.meta) == .found(entry))
        #expect(V2MLeftovers.qemuProcesses(mentioning: state.root).isEmpty)
    }
}
