import Foundation
import Testing
import VSE

/// The example specs in `examples/` are the ones users copy and the integration tests build.
@Suite struct SpecExamplesTests {
    static let examples: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path + "/examples"
    }()

    @Test func tinyIsValid() throws {
        let spec = try SpecLoader.load(path: Self.examples + "/tiny.yaml")
        #expect(spec.name == "tiny")
        #expect(spec.base == .busybox)
        #expect(spec.kernel == .package("linux-image-cloud-amd64"))
        #expect(spec.packages.isEmpty)
        #expect(spec.files == [FileEntry(source: Self.examples + "/files/hello.txt", target: "/opt/hello.txt", mode: 0o644)])
        #expect(spec.environment == ["GREETING": "hello"])
        #expect(spec.setup == ["echo tiny > /etc/motd"])
        #expect(spec.format == .initramfs)
        #expect(spec.resources == Resources(vcpus: 1, memoryBytes: 256 << 20))
        #expect(spec.sourcePath == Self.examples + "/tiny.yaml")
    }

    @Test func debianIsValid() throws {
        let spec = try SpecLoader.load(path: Self.examples + "/debian.yaml")
        #expect(spec.name == "debian-bc")
        #expect(spec.base == .debian(release: "bookworm"))
        #expect(spec.kernel == .package("linux-image-cloud-amd64"))
        #expect(spec.packages == ["bc"])
        #expect(spec.files.isEmpty)
        #expect(spec.environment == ["OMP_NUM_THREADS": "1", "LC_ALL": "C.UTF-8"])
        #expect(spec.setup == ["echo ready > /etc/motd", "echo 'APT::Install-Recommends \"false\";' > /etc/apt/apt.conf.d/99vhpc"])
        #expect(spec.format == .ext4)
        #expect(spec.resources == Resources(vcpus: 1, memoryBytes: 512 << 20))
    }

    @Test func examplesHaveDistinctHashes() throws {
        let tiny = try SpecLoader.load(path: Self.examples + "/tiny.yaml")
        let debian = try SpecLoader.load(path: Self.examples + "/debian.yaml")
        #expect(tiny.specHash != debian.specHash)
    }
}
