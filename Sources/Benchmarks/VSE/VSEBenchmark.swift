import Foundation
import Logging
import TextReport
import V2M
import VSE

/// `vhpc bench vse`: cold and warm build times of the examples and boot-to-guest-ready time, medians.
///
/// "Cold" = empty image cache with the kernel package already unpacked (the download is network-bound
/// and happens once per kernel version); the Debian cold build includes mmdebstrap's package downloads.
public struct VSEBenchmark: Sendable {
    public var runs: Int
    public var debianRuns: Int
    /// The busybox example.
    public var tiny: VSESpec
    /// The Debian example (nil: skipped).
    public var debian: VSESpec?

    public init(runs: Int, debianRuns: Int, tiny: VSESpec, debian: VSESpec?) {
        self.runs = runs
        self.debianRuns = debianRuns
        self.tiny = tiny
        self.debian = debian
    }

    public func run() async throws {
        let shared = StateDirectory.resolve()
        var rows = [["measurement", "median", "min", "max", "runs", "target"]]

        let tinySpec = tiny
        let (tinyCold, tinyWarm, tinyEntry) = try measureBuilds(tinySpec, runs: runs, shared: shared)
        rows.append(Self.row("tiny build, cold", tinyCold, target: "< 10 s"))
        rows.append(Self.row("tiny build, cache hit", tinyWarm, target: "< 0.5 s"))

        if let debianSpec = debian {
            let (cold, warm, _) = try measureBuilds(debianSpec, runs: debianRuns, shared: shared)
            rows.append(Self.row("debian + 1 package build, cold", cold, target: "< 60 s"))
            rows.append(Self.row("debian + 1 package build, cache hit", warm, target: "< 0.5 s"))
        }

        var boots: [Double] = []
        var accelerator = ""
        for _ in 0..<runs {
            let result = try await QuickBoot.run(image: tinyEntry, argv: ["true"], accelerator: .auto,
                                                 onOutput: { _, _ in }, logger: Logger(label: "bench"))
            boots.append(result.bootDuration.seconds)
            accelerator = "\(result.accelerator)"
        }
        rows.append(Self.row("tiny boot to guest ready (\(accelerator))", boots, target: "< 2 s"))
        // The same image booted through Debian's bzImage (decompressor, real-mode set-up) instead of the
        // PVH ELF, in the same run: what the PVH entry saves on this machine now.
        if let bzImage = try Self.bzImageTwin(of: tinyEntry, kernels: shared.kernels, scratch: shared.tmp) {
            defer { try? FileManager.default.removeItem(atPath: bzImage.directory) }
            var bzBoots: [Double] = []
            for _ in 0..<runs {
                let result = try await QuickBoot.run(image: bzImage, argv: ["true"], accelerator: .auto,
                                                     onOutput: { _, _ in }, logger: Logger(label: "bench"))
                bzBoots.append(result.bootDuration.seconds)
            }
            rows.append(Self.row("  same, Debian's bzImage (comparison)", bzBoots, target: ""))
        }
        print(TextTable.render(rows), terminator: "")
    }

    /// Cold builds each into a fresh state directory that shares only the kernel cache; then warm hits.
    private func measureBuilds(_ spec: VSESpec, runs: Int, shared: StateDirectory) throws -> ([Double], [Double], ImageEntry) {
        // Make sure the kernel is unpacked once in the shared cache.
        let prepared = try ImageBuilder(state: shared).build(spec)
        var cold: [Double] = []
        var warm: [Double] = []
        for _ in 0..<runs {
            let scratch = try TemporaryDirectory(in: shared.tmp, prefix: "bench")
            defer { scratch.remove() }
            try FileManager.default.createSymbolicLink(atPath: scratch.path + "/kernels", withDestinationPath: shared.kernels)
            let builder = try ImageBuilder(state: StateDirectory(root: scratch.path))
            cold.append(try Self.time { _ = try builder.build(spec) })
            warm.append(try Self.time { _ = try builder.build(spec) })
        }
        return (cold, warm, prepared.entry)
    }

    /// A scratch entry that is `image` with its PVH kernel swapped for the bzImage it came from, or nil
    /// when the image boots a bzImage anyway.
    static func bzImageTwin(of image: ImageEntry, kernels: String, scratch: String) throws -> ImageEntry? {
        guard image.manifest.kernel.path == "vmlinux" else { return nil }
        let name = "vmlinuz-" + image.manifest.kernelRelease
        let packages = (try? FileManager.default.contentsOfDirectory(atPath: kernels)) ?? []
        guard let bzImage = packages.map({ kernels + "/" + $0 + "/boot/" + name })
            .first(where: { FileManager.default.fileExists(atPath: $0) }) else { return nil }
        let directory = scratch + "/bench-bzimage-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: directory + "/vmlinuz", withDestinationPath: bzImage)
        try FileManager.default.createSymbolicLink(atPath: directory + "/initrd.img", withDestinationPath: image.initrdPath)
        var manifest = image.manifest
        manifest.kernel.path = "vmlinuz"
        return ImageEntry(manifest: manifest, directory: directory)
    }

    static func time(_ body: () throws -> Void) throws -> Double {
        let clock = ContinuousClock()
        let start = clock.now
        try body()
        return (clock.now - start).seconds
    }

    static func row(_ name: String, _ samples: [Double], target: String) -> [String] {
        let sorted = samples.sorted()
        let median = sorted.isEmpty ? 0 : (sorted.count % 2 == 1 ? sorted[sorted.count / 2]
                                           : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2)
        func format(_ value: Double) -> String { value < 1 ? String(format: "%.0f ms", value * 1000) : String(format: "%.2f s", value) }
        return [name, format(median), format(sorted.first ?? 0), format(sorted.last ?? 0), "\(samples.count)", target]
    }
}
