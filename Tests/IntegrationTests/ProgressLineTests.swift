import Foundation
import Testing

/// On a terminal, a long build step's line shows its elapsed time while it runs; elsewhere plain lines.
@Suite struct ProgressLineTests {
    @Test func aLongStepIsSeenMovingOnATerminal() throws {
        let directory = NSTemporaryDirectory() + "vhpc-progress-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let name = "progress-\(UInt32.random(in: 0...UInt32.max))"
        let spec = directory + "/spec.yaml"
        try """
            name: \(name)
            base: busybox
            kernel: linux-image-cloud-amd64
            setup: ["sleep 3"]
            format: initramfs
            """.write(toFile: spec, atomically: true, encoding: .utf8)
        defer { _ = try? CLI.run(["vse", "rm", name]) }
        // util-linux's `script` gives the build a terminal and records what it drew.
        let typescript = directory + "/typescript"
        let recorded = try CLI.run(program: "/usr/bin/script", ["-qec", "'\(CLI.vhpc)' vse build '\(spec)'", typescript])
        #expect(recorded.status == 0)
        let drawn = String(decoding: try Data(contentsOf: URL(fileURLWithPath: typescript)), as: UTF8.self)
        #expect(drawn.contains("setup (1 command) (2 s)"), "\(drawn)")
        let plain = try CLI.run(["vse", "build", spec])
        #expect(!plain.stderr.contains("\u{1B}["), "no terminal codes when stderr is not a terminal")
    }
}
