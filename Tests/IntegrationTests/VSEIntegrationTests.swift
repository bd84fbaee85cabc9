import Foundation
import Testing

/// Real builds (busybox-static, mmdebstrap, apt-get download) and real boots under QEMU, through the CLI.
@Suite(.serialized) struct VSEIntegrationTests {
    @Test func tinyBuildsCachesAndBoots() throws {
        let first = try CLI.run(["vse", "build", "examples/tiny.yaml"])
        #expect(first.status == 0, "\(first.stderr)")
        let id = first.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(id.count == 64 && id.allSatisfy(\.isHexDigit))

        let second = try CLI.run(["vse", "build", "examples/tiny.yaml"])
        #expect(second.status == 0)
        #expect(second.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == id)
        #expect(second.stderr.contains("cache hit"), "\(second.stderr)")
        #expect(!second.stderr.contains("busybox userland"), "a cache hit must do no build work")

        let inspect = try CLI.run(["vse", "inspect", "tiny"])
        #expect(inspect.status == 0)
        #expect(inspect.stdout.contains("\"id\" : \"\(id)\""))
        // The fast boot path: Debian's kernel unpacked to its PVH ELF, the initramfs LZ4-compressed.
        #expect(inspect.stdout.contains("\"path\" : \"vmlinux\""), "\(inspect.stdout)")
        let imageDirectory = CLI.stateDirectory + "/images/" + id
        let kernel = try #require(FileHandle(forReadingAtPath: imageDirectory + "/vmlinux")?.readData(ofLength: 4))
        #expect(kernel == Data([0x7F, 0x45, 0x4C, 0x46]))
        let initrd = try #require(FileHandle(forReadingAtPath: imageDirectory + "/initrd.img")?.readData(ofLength: 4))
        #expect(initrd == Data([0x02, 0x21, 0x4C, 0x18]), "initrd should be LZ4 (legacy frame)")

        let boot = try CLI.run(["vse", "boot", "examples/tiny.yaml", "--timeout", "120", "--",
                                "sh", "-c", "cat /opt/hello.txt; echo \"greeting=$GREETING\"; cat /etc/motd; uname -r; echo oops >&2; exit 3"])
        #expect(boot.status == 3, "\(boot.stderr)")
        #expect(boot.stdout.contains("hello from the tiny VSE"))
        #expect(boot.stdout.contains("greeting=hello"))
        #expect(boot.stdout.contains("tiny\n"))  // /etc/motd written by the spec's setup step
        #expect(boot.stdout.contains("-cloud-amd64"))
        #expect(boot.stderr.contains("oops"))
    }

    @Test func debianWithExtraPackageBootsAndRunsIt() throws {
        let build = try CLI.run(["vse", "build", "examples/debian.yaml"])
        #expect(build.status == 0, "\(build.stderr)")
        let boot = try CLI.run(["vse", "boot", "debian-bc", "--timeout", "180", "--",
                                "sh", "-c", "echo '6*7' | bc; cat /etc/debian_version; echo threads=$OMP_NUM_THREADS; cat /etc/apt/apt.conf.d/99vhpc /etc/motd"])
        #expect(boot.status == 0, "\(boot.stderr)")
        #expect(boot.stdout.contains("42\n"))
        #expect(boot.stdout.contains("threads=1"))
        #expect(boot.stdout.contains("12."))
        // The setup steps ran (in their sandbox) and wrote into the image: apt configuration, motd.
        #expect(boot.stdout.contains("APT::Install-Recommends \"false\";") && boot.stdout.contains("ready\n"), "\(boot.stdout)")
    }

    @Test func qcow2DebianImageBootsFromItsOverlay() throws {
        let spec = try TemporarySpec("""
        name: debian-qcow2
        base: debian:bookworm
        packages: [bc]
        format: qcow2
        """)
        defer { spec.remove() }
        let build = try CLI.run(["vse", "build", "-q", spec.path])
        #expect(build.status == 0, "\(build.stderr)")
        let inspect = try CLI.run(["vse", "inspect", "debian-qcow2"])
        #expect(inspect.stdout.contains("\"diskFormat\" : \"qcow2\""))
        let boot = try CLI.run(["vse", "boot", "debian-qcow2", "--timeout", "180", "--",
                                "sh", "-c", "echo '3*3' | bc; grep ' / ' /proc/mounts"])
        #expect(boot.status == 0, "\(boot.stderr)")
        #expect(boot.stdout.contains("9\n"))
        #expect(boot.stdout.contains("/dev/vda / ext4 rw"))
    }

    @Test func unknownPackageFailsNamingIt() throws {
        let spec = try TemporarySpec("""
        name: bad-package
        base: debian:bookworm
        packages: [bc, vhpc-no-such-package]
        format: ext4
        """)
        defer { spec.remove() }
        let result = try CLI.run(["vse", "build", spec.path])
        #expect(result.status != 0)
        let errorLine = result.stderr.split(separator: "\n").first { $0.hasPrefix("vhpc:") } ?? ""
        #expect(errorLine.contains("unknown Debian package for bookworm: vhpc-no-such-package"), "\(result.stderr)")
        #expect(!errorLine.contains("bc"))
        let list = try CLI.run(["vse", "list"])
        #expect(!list.stdout.contains("bad-package"))
    }

    @Test func invalidSpecReportsEveryProblemWithPositions() throws {
        let spec = try TemporarySpec("""
        name: Bad_Name
        base: busybox
        packages: [bc]
        resources: {vcpus: 0, memory: 12Q}
        colour: blue
        """)
        defer { spec.remove() }
        let result = try CLI.run(["vse", "validate", spec.path])
        #expect(result.status == 1)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count >= 5, "\(result.stderr)")
        #expect(lines.allSatisfy { $0.hasPrefix(spec.path + ":") })
        #expect(result.stderr.contains(spec.path + ":1:"))
        #expect(result.stderr.contains(spec.path + ":5:1:"))
    }

    @Test func interruptedBuildLeavesNoCacheEntry() throws {
        let marker = "interrupt-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let spec = try TemporarySpec("""
        name: interrupted
        base: debian:bookworm
        setup: ["echo \(marker) > /etc/marker"]
        format: ext4
        """)
        defer { spec.remove() }
        let process = try CLI.command(CLI.vhpc, ["vse", "build", spec.path]).start()
        // Wait until mmdebstrap is running, then interrupt like Ctrl-C.
        let deadline = Date().addingTimeInterval(60)
        while !process.stderrSoFar.contains("mmdebstrap"), process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        #expect(process.stderrSoFar.contains("mmdebstrap"), "\(process.stderrSoFar)")
        Thread.sleep(forTimeInterval: 2)
        process.signal(SIGINT)
        #expect(process.wait().status == 130)
        let list = try CLI.run(["vse", "list"])
        #expect(!list.stdout.contains("interrupted"))
        let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: CLI.stateDirectory + "/tmp")) ?? []
        #expect(!leftovers.contains { $0.hasPrefix(".build-interrupted-\(process.pid)-") }, "\(leftovers)")
    }
}

/// A spec file in a fresh temporary directory.
struct TemporarySpec {
    let directory: String
    var path: String { directory + "/spec.yaml" }

    init(_ yaml: String) throws {
        directory = NSTemporaryDirectory() + "vhpc-spec-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try Data(yaml.utf8).write(to: URL(fileURLWithPath: path))
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }
}
