import Foundation
import Testing
import VSE

@Suite struct SpecLoaderTests {
    @Test func minimalSpecGetsDefaults() throws {
        let fixture = try SpecFixture()
        let spec = try fixture.load(minimalSpec)
        #expect(spec.name == "demo")
        #expect(spec.base == .debian(release: "bookworm"))
        #expect(spec.kernel == .package("linux-image-cloud-amd64"))
        #expect(spec.packages.isEmpty)
        #expect(spec.files.isEmpty)
        #expect(spec.environment.isEmpty)
        #expect(spec.setup.isEmpty)
        #expect(spec.format == .initramfs)
        #expect(spec.resources == Resources(vcpus: 1, memoryBytes: 512 * 1024 * 1024))
    }

    @Test func fullSpecIsRead() throws {
        let fixture = try SpecFixture()
        let input = try fixture.write("data/input.dat")
        let yaml = """
            name: chem-env
            base: debian:bookworm
            kernel: linux-image-cloud-amd64
            packages: [bc, python3-numpy, libstdc++6]
            files:
              - {source: ./data/input.dat, target: /opt/app/input.dat, mode: "0600"}
              - source: data/input.dat
                target: /opt//app/./copy.dat
                mode: 755
            environment: {OMP_NUM_THREADS: "1", _X9: ""}
            setup: ["echo ready > /etc/motd", "true"]
            format: qcow2
            resources: {vcpus: 4, memory: 2GiB}
            """
        let spec = try fixture.load(yaml)
        #expect(spec.name == "chem-env")
        #expect(spec.packages == ["bc", "python3-numpy", "libstdc++6"])
        #expect(spec.files == [
            FileEntry(source: input, target: "/opt/app/input.dat", mode: 0o600),
            FileEntry(source: input, target: "/opt/app/copy.dat", mode: 0o755),
        ])
        #expect(spec.environment == ["OMP_NUM_THREADS": "1", "_X9": ""])
        #expect(spec.setup == ["echo ready > /etc/motd", "true"])
        #expect(spec.format == .qcow2)
        #expect(spec.resources == Resources(vcpus: 4, memoryBytes: 2 << 30))
    }

    @Test func busyboxBaseAndDefaultMode() throws {
        let fixture = try SpecFixture()
        let source = try fixture.write("hello.txt")
        let spec = try fixture.load("""
            name: t
            base: busybox
            files: [{source: hello.txt, target: /hello}]
            """)
        #expect(spec.base == .busybox)
        #expect(spec.files == [FileEntry(source: source, target: "/hello", mode: 0o644)])
    }

    @Test func kernelPathIsMadeAbsoluteAgainstSpecDirectory() throws {
        let fixture = try SpecFixture()
        let kernel = try fixture.write("boot/vmlinuz")
        let spec = try fixture.load(minimalSpec + "kernel: ./boot/../boot/vmlinuz\n")
        #expect(spec.kernel == .path(kernel))
    }

    @Test func loadFromFileResolvesRelativeToItsDirectory() throws {
        let fixture = try SpecFixture()
        let source = try fixture.write("sub/payload.bin")
        let specPath = try fixture.write("sub/env.yaml", minimalSpec + "files: [{source: payload.bin, target: /p}]\n")
        let spec = try SpecLoader.load(path: specPath)
        #expect(spec.files.first?.source == source)
        #expect(spec.sourcePath == specPath)
    }

    @Test func unreadableSpecFileIsReported() throws {
        let fixture = try SpecFixture()
        let missing = fixture.directory + "/nope.yaml"
        let error = #expect(throws: SpecValidationError.self) { try SpecLoader.load(path: missing) }
        #expect(error?.description == "\(missing): cannot read spec file: no such file")
    }

    @Test func diagnosticDescriptionFormat() {
        let diagnostic = SpecDiagnostic(file: "env.yaml", line: 3, column: 7, message: "bad")
        #expect(diagnostic.description == "env.yaml:3:7: bad")
        let error = SpecValidationError(diagnostics: [diagnostic, SpecDiagnostic(file: "env.yaml", line: 4, column: 1, message: "worse")])
        #expect(error.description == "env.yaml:3:7: bad\nenv.yaml:4:1: worse")
    }
}
