import Foundation
import V2M
import VSE

/// Finds a bootable image for the V2M integration tests.
///
/// Order: `$V2M_TEST_IMAGE` (an image directory holding manifest.json); the `tiny` image in
/// `$V2M_TEST_STATE` or the default state directory (built with `vhpc vse build examples/tiny.yaml`);
/// a hand-made image under /tmp/v2m-img/store.
enum V2MTestImage {
    static func find() -> ImageEntry? {
        let env = ProcessInfo.processInfo.environment
        if let dir = env["V2M_TEST_IMAGE"], let data = FileManager.default.contents(atPath: dir + "/manifest.json"),
           let manifest = try? ImageManifest.decode(data) {
            return ImageEntry(manifest: manifest, directory: dir)
        }
        var stores: [StateDirectory] = []
        if let root = env["V2M_TEST_STATE"] { stores.append(StateDirectory(root: root)) }
        stores.append(StateDirectory.resolve())
        for state in stores {
            if let entry = try? ImageStore(state: state).resolve("tiny") { return entry }
        }
        // Build examples/tiny.yaml into the integration tests' state directory (a cache hit after the first).
        let integration = StateDirectory(root: CLI.stateDirectory)
        if let entry = try? ImageStore(state: integration).resolve("tiny") { return entry }
        guard let built = try? CLI.run(["vse", "build", "-q", "examples/tiny.yaml"]), built.status == 0 else { return nil }
        return try? ImageStore(state: integration).resolve("tiny")
    }

    /// A state directory for one test, short enough for unix sockets.
    static func scratchState() -> StateDirectory {
        let root = "/tmp/v2m-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try? FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        return StateDirectory(root: root)
    }

    /// The accelerator the tests use: TCG unless V2M_TEST_ACCEL says otherwise (KVM hangs here).
    static var accelerator: AcceleratorChoice {
        AcceleratorChoice(rawValue: ProcessInfo.processInfo.environment["V2M_TEST_ACCEL"] ?? "tcg") ?? .tcg
    }
}
