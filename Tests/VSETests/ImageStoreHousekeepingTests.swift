import Foundation
import Testing
import VSE

/// The image cache's lookups and node copies, on fabricated entries in a private state directory.
@Suite struct ImageStoreHousekeepingTests {
    let root = NSTemporaryDirectory() + "vhpc-imagestore-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"

    func addImage(id: String, name: String, age: TimeInterval) throws {
        let manifest = ImageManifest(
            id: id, name: name, specHash: "s", builderVersion: "2", createdAt: Date().addingTimeInterval(-age),
            base: "busybox", format: "initramfs", kernel: Artifact(path: "vmlinuz", size: 10, sha256: "c"),
            initrd: Artifact(path: "initrd.img", size: 20, sha256: "d"), disk: nil, diskFormat: nil, kernelRelease: "6.1",
            kernelCommandLine: "", guestChannel: GuestChannelDescription(), modules: [], environment: [:],
            defaultVCPUs: 1, defaultMemoryBytes: 256 << 20)
        let directory = root + "/images/" + id
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try manifest.encoded().write(to: URL(fileURLWithPath: directory + "/" + ImageManifest.fileName))
    }

    func addNodeCopy(id: String, rank: Int, bytes: Int) throws {
        let directory = root + "/nodes/\(rank)/images/" + id
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try Data(repeating: 7, count: bytes).write(to: URL(fileURLWithPath: directory + "/initrd.img"))
    }

    @Test func idPrefixesOfAnyUnambiguousLengthResolve() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        try addImage(id: "ab" + String(repeating: "1", count: 62), name: "one", age: 10)
        try addImage(id: "ac" + String(repeating: "2", count: 62), name: "two", age: 5)
        let store = ImageStore(state: StateDirectory(root: root))
        #expect(try store.resolve("ab").manifest.name == "one")
        #expect(try store.resolve("ac2").manifest.name == "two")
        #expect(try store.resolve("two").manifest.name == "two")
        #expect(throws: ImageLookupError.self) { try store.resolve("a") }  // ambiguous
        #expect(throws: ImageLookupError.self) { try store.resolve("zz") }
    }

    @Test func nodeCopiesAreFoundMeasuredAndRemoved() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        let id = String(repeating: "e", count: 64)
        try addImage(id: id, name: "img", age: 0)
        try addNodeCopy(id: id, rank: 1, bytes: 1 << 20)
        try addNodeCopy(id: id, rank: 2, bytes: 1 << 20)
        try addNodeCopy(id: "gone" + String(repeating: "0", count: 60), rank: 2, bytes: 4096)
        let store = ImageStore(state: StateDirectory(root: root))
        #expect(store.nodeCopies(of: id).count == 2)
        #expect(store.idsWithNodeCopies().count == 2)
        let freed = try store.removeNodeCopies(of: id)
        #expect(freed >= 2 << 20)
        #expect(store.nodeCopies(of: id).isEmpty)
        #expect(FileManager.default.fileExists(atPath: root + "/images/" + id), "the image itself stays")
    }
}
