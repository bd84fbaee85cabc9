import Foundation
import Testing
import VSE

@Suite struct SpecNormalizationTests {
    let fixture: SpecFixture

    init() throws {
        fixture = try SpecFixture()
        try fixture.write("input.dat")
    }

    let reference = """
        name: chem-env
        base: debian:bookworm
        packages: [bc, gawk]
        files:
          - {source: ./input.dat, target: /opt/app/input.dat, mode: "0644"}
        environment: {OMP_NUM_THREADS: "1", A: "x"}
        setup: ["echo ready > /etc/motd"]
        resources: {vcpus: 2, memory: 1G}
        """

    @Test func keyOrderCommentsAndFormattingDoNotChangeTheHash() throws {
        let reordered = """
            # A comment that must not matter.
            resources:
              memory: 1024M      # same size, other spelling
              vcpus: 2
            setup:
              - echo ready > /etc/motd
            environment:
              A: x
              OMP_NUM_THREADS: '1'
            files:
              - target: /opt/app/input.dat
                source: input.dat
            packages:
              - gawk
              - bc
              - bc
            base: "debian:bookworm"
            name: chem-env
            format: initramfs
            kernel: linux-image-cloud-amd64
            """
        let a = try fixture.load(reference)
        let b = try fixture.load(reordered)
        #expect(a.normalizedJSON() == b.normalizedJSON())
        #expect(a.specHash == b.specHash)
    }

    @Test func addingAPackageChangesTheHash() throws {
        let a = try fixture.load(reference)
        let b = try fixture.load(reference.replacingOccurrences(of: "[bc, gawk]", with: "[bc, gawk, jq]"))
        #expect(a.specHash != b.specHash)
    }

    @Test func packageOrderAndDuplicatesDoNotChangeTheHash() {
        let a = VSESpec(name: "x", base: .debian(release: "bookworm"), packages: ["bc", "gawk"])
        let b = VSESpec(name: "x", base: .debian(release: "bookworm"), packages: ["gawk", "bc", "gawk"])
        #expect(a.specHash == b.specHash)
        #expect(b.normalized().packages == ["bc", "gawk"])
    }

    @Test func everyFieldTakesPartInTheHash() {
        let base = VSESpec(name: "x", base: .debian(release: "bookworm"))
        var variants: [VSESpec] = []
        var v = base; v.name = "y"; variants.append(v)
        v = base; v.base = .debian(release: "trixie"); variants.append(v)
        v = base; v.base = .busybox; variants.append(v)
        v = base; v.kernel = .path("/boot/vmlinuz"); variants.append(v)
        v = base; v.files = [FileEntry(source: "/a", target: "/a")]; variants.append(v)
        v = base; v.files = [FileEntry(source: "/a", target: "/a", mode: 0o600)]; variants.append(v)
        v = base; v.environment = ["A": "1"]; variants.append(v)
        v = base; v.setup = ["true"]; variants.append(v)
        v = base; v.format = .qcow2; variants.append(v)
        v = base; v.resources.vcpus = 2; variants.append(v)
        v = base; v.resources.memoryBytes = 1 << 30; variants.append(v)
        let hashes = Set(([base] + variants).map(\.specHash))
        #expect(hashes.count == variants.count + 1)
    }

    @Test func setupOrderMatters() {
        let a = VSESpec(name: "x", base: .busybox, setup: ["a", "b"])
        let b = VSESpec(name: "x", base: .busybox, setup: ["b", "a"])
        #expect(a.specHash != b.specHash)
    }

    @Test func sourcePathIsExcluded() {
        var a = VSESpec(name: "x", base: .busybox)
        a.sourcePath = "/one/env.yaml"
        var b = a
        b.sourcePath = "/two/env.yaml"
        #expect(a.normalizedJSON() == b.normalizedJSON())
        #expect(!String(decoding: a.normalizedJSON(), as: UTF8.self).contains("env.yaml"))
    }

    @Test func canonicalJSONIsExact() {
        let spec = VSESpec(
            name: "x", base: .debian(release: "bookworm"), packages: ["jq", "bc"],
            files: [FileEntry(source: "/h/b", target: "/z"), FileEntry(source: "/h/a", target: "/a", mode: 0o755)],
            environment: ["Z": "1", "A": "2"], setup: ["true"], format: .ext4,
            resources: Resources(vcpus: 2, memoryBytes: 1 << 30), sourcePath: "/h/env.yaml")
        let json = String(decoding: spec.normalizedJSON(), as: UTF8.self)
        #expect(json == #"{"base":"debian:bookworm","environment":{"A":"2","Z":"1"},"files":[{"mode":493,"source":"/h/a","target":"/a"},{"mode":420,"source":"/h/b","target":"/z"}],"format":"ext4","kernel":{"package":"linux-image-cloud-amd64"},"name":"x","packages":["bc","jq"],"resources":{"memoryBytes":1073741824,"vcpus":2},"schema":1,"setup":["true"]}"#)
    }

    @Test func hashIsLowercaseHexSHA256OfTheJSON() {
        let spec = VSESpec(name: "x", base: .busybox)
        let hash = spec.specHash
        #expect(hash.count == 64)
        #expect(hash.allSatisfy { "0123456789abcdef".contains($0) })
        #expect(hash == spec.specHash)
    }
}
