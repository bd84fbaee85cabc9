import Testing
import VSE

/// Every problem of a spec is reported at once, in file order, each at its own position.
@Suite struct SpecMultipleErrorsTests {
    @Test func everyProblemIsReportedWithItsPosition() throws {
        let fixture = try SpecFixture()
        let yaml = """
            name: Bad_Name
            base: busybox
            kernel: ./no/such/vmlinuz
            packages: [bc]
            files:
              - {source: missing.txt, target: relative/path, mode: "999"}
            enviroment: {A: b}
            setup: "not a list"
            format: squashfs
            resources:
              vcpus: 0
              memory: 12Q
            """
        let error = #expect(throws: SpecValidationError.self) { try fixture.load(yaml) }
        let lines = try #require(error).description.split(separator: "\n").map(String.init)
        #expect(lines == [
            "spec.yaml:1:7: invalid name 'Bad_Name': use only lowercase letters, digits and '-'",
            "spec.yaml:3:9: kernel image './no/such/vmlinuz' does not exist (looked for \(fixture.directory)/no/such/vmlinuz)",
            "spec.yaml:4:1: packages cannot be installed on base 'busybox' (at 2:7), which has no package manager; remove 'packages' or use 'debian:<release>'",
            "spec.yaml:6:14: source file 'missing.txt' does not exist (looked for \(fixture.directory)/missing.txt)",
            "spec.yaml:6:35: target 'relative/path' must be an absolute path in the guest (start with '/')",
            "spec.yaml:6:56: mode '999' is not an octal permission such as \"0644\" or \"755\"",
            "spec.yaml:7:1: unknown key 'enviroment'; did you mean 'environment'?",
            "spec.yaml:8:8: setup must be a list, found a string ('not a list')",
            "spec.yaml:9:9: unknown format 'squashfs'; expected one of initramfs, ext4, qcow2",
            "spec.yaml:11:10: vcpus must be between 1 and 1024, found 0",
            "spec.yaml:12:11: memory '12Q' is not a size; write e.g. 512M, 2G or 1GiB",
        ])
    }

    @Test func duplicateKeyDoesNotHideOtherProblems() {
        let fixture = try! SpecFixture()
        let diagnostics = fixture.diagnostics("""
            name: demo
            base: debian:bookworm
            packages: [bc]
            format: zip
            packages: [Vim]
            """)
        #expect(diagnostics.map(\.description) == [
            "spec.yaml:4:9: unknown format 'zip'; expected one of initramfs, ext4, qcow2",
            "spec.yaml:5:1: duplicate key 'packages' (previously defined at 3:1)",
            "spec.yaml:5:12: invalid Debian package name 'Vim'; package names match [a-z0-9][a-z0-9+.-]+",
        ])
    }

    @Test func missingKeysAndWrongTypesTogether() {
        let fixture = try! SpecFixture()
        let diagnostics = fixture.diagnostics("""
            kernel: 42
            resources: 2
            """)
        #expect(diagnostics.map(\.description) == [
            "spec.yaml:1:1: missing required key 'name'",
            "spec.yaml:1:1: missing required key 'base'",
            "spec.yaml:1:9: kernel must be a string, found an integer (42); quote it to make it a string",
            "spec.yaml:2:12: resources must be a mapping, found an integer (2)",
        ])
    }
}
