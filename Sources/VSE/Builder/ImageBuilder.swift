import Crypto
import Foundation
import HostProcess

/// Builds a VSE spec into a cached, hypervisor-agnostic image (kernel + initrd [+ disk] + manifest).
///
/// The cache key hashes the normalized spec, the builder version and every input (file contents,
/// kernel package version or image hash, guest agent and busybox binaries). A hit does no work.
/// Builds happen in a private temporary directory that is renamed into `images/<key>` only when
/// complete, so an interrupted or failed build leaves nothing a later run would use.
public struct ImageBuilder: Sendable {
    public static let version = "5"

    public let state: StateDirectory
    let tools: BuildTools

    public init(state: StateDirectory, guestAgentPath: String? = nil, busyboxPath: String = "/bin/busybox") throws {
        self.state = state
        guard FileManager.default.isExecutableFile(atPath: busyboxPath) else {
            throw BuildError.missingTool(busyboxPath, hint: "install Debian's busybox-static (`make deps`)")
        }
        let agent = guestAgentPath ?? Self.defaultGuestAgentPath()
        guard let agent, FileManager.default.isExecutableFile(atPath: agent) else {
            throw BuildError.missingTool("vhpc-guest", hint: "build it next to vhpc (`swift build --product vhpc-guest`) or set VHPC_GUEST_AGENT")
        }
        tools = BuildTools(busybox: busyboxPath, guestAgent: agent)
    }

    /// `$VHPC_GUEST_AGENT`, else `vhpc-guest` beside the running executable.
    public static func defaultGuestAgentPath() -> String? {
        if let path = ProcessInfo.processInfo.environment["VHPC_GUEST_AGENT"], !path.isEmpty { return path }
        guard let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else { return nil }
        return (exe as NSString).deletingLastPathComponent + "/vhpc-guest"
    }

    /// The outcome of `build`: the cache entry and whether it was already there.
    public struct Result: Sendable {
        public var entry: ImageEntry
        public var cacheHit: Bool
    }

    /// The content key for a spec (no side effects beyond reading inputs and asking apt for versions).
    public func cacheKey(for spec: VSESpec) throws -> String {
        var hasher = SHA256()
        func add(_ label: String, _ value: String) { hasher.update(data: Data("\(label)=\(value)\n".utf8)) }
        add("builder", Self.version)
        add("spec", spec.specHash)
        for file in spec.files {
            add("file:\(file.target)", try FileHashing.sha256(ofTree: file.source))
        }
        add("kernel", try KernelProvider(state: state).identity(of: spec.kernel))
        add("agent", try FileHashing.sha256(ofFile: tools.guestAgent))
        add("busybox", try FileHashing.sha256(ofFile: tools.busybox))
        return hasher.finalize().hexString
    }

    public func build(_ spec: VSESpec, progress: @escaping @Sendable (BuildEvent) -> Void = { _ in }) throws -> Result {
        let store = ImageStore(state: state)
        let key = try step("resolve inputs", progress) { try cacheKey(for: spec) }
        if let cached = store.entry(id: key) {
            // A cache entry is used only if its files are what its manifest says (a corrupted copy used to be
            // reported as built, then booted): otherwise it is removed and built again.
            if let problem = Self.corruption(of: cached) {
                let note = "cache entry \(key.prefix(12)) is corrupt (\(problem)): rebuilding"
                progress(BuildEvent(step: note, phase: .started))
                progress(BuildEvent(step: note, phase: .finished(.zero)))
                SafeRemove.remove(cached.directory)
            } else {
                return Result(entry: cached, cacheHit: true)
            }
        }

        try state.ensure(state.images)
        TemporaryDirectory.removeStale(in: state.tmp)
        let work = try TemporaryDirectory(in: state.tmp, prefix: "build-\(spec.name)")
        CleanupRegistry.shared.add(work.path)
        defer {
            SafeRemove.remove(work.path)
            CleanupRegistry.shared.remove(work.path)
        }
        let tree = work.path + "/root"
        let output = work.path + "/image"
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)

        let kernel = try step("kernel \(spec.kernel.displayName)", progress) { try KernelProvider(state: state).prepare(spec.kernel) }
        let assembler = RootfsAssembler(root: tree, tools: tools)
        switch spec.base {
        case .busybox:
            try step("busybox userland", progress) {
                try FileManager.default.createDirectory(atPath: tree, withIntermediateDirectories: true)
                try assembler.installBusyboxUserland()
            }
        case .debian(let release):
            try step("mmdebstrap \(release)" + (spec.packages.isEmpty ? "" : " + \(spec.packages.joined(separator: ","))"), progress) {
                try DebianBootstrap(release: release, packages: spec.packages,
                                    archiveCache: state.root + "/apt-archives/" + release).run(into: tree)
            }
        }
        let modules = try step("guest agent, init, modules", progress) { () throws -> [String] in
            let modules = try assembler.installModules(from: kernel)
            try assembler.installVHPCParts(vseName: spec.name, environment: spec.environment, modules: modules)
            try assembler.copy(tree + GuestInitScripts.initPath, to: "/init", mode: 0o755)
            return modules
        }
        if !spec.files.isEmpty {
            try step("files (\(spec.files.count))", progress) { try assembler.installFiles(spec.files) }
        }
        if !spec.setup.isEmpty {
            try step("setup (\(spec.setup.count) command\(spec.setup.count == 1 ? "" : "s"))", progress) {
                try assembler.runSetup(spec.setup, environment: spec.environment)
            }
        }

        var disk: Artifact?
        var diskFormat: String?
        let commandLine: String
        switch spec.format {
        case .initramfs:
            try step("pack initramfs", progress) { try ImagePacker.initramfs(from: tree, to: output + "/initrd.img", compression: kernel.initrdCompression) }
            commandLine = "rdinit=/init"
        case .ext4, .qcow2:
            try step("ext4 root disk", progress) { try ImagePacker.ext4(from: tree, to: output + "/disk.ext4") }
            if spec.format == .qcow2 {
                try step("convert to qcow2", progress) {
                    try ImagePacker.qcow2(fromRaw: output + "/disk.ext4", to: output + "/disk.qcow2")
                    try FileManager.default.removeItem(atPath: output + "/disk.ext4")
                }
            }
            try step("boot initrd", progress) {
                let bootTree = work.path + "/boot-root"
                let boot = RootfsAssembler(root: bootTree, tools: tools)
                try boot.installBusyboxUserland()
                _ = try boot.installModules(from: kernel)
                try boot.write(modules.joined(separator: "\n") + "\n", to: "/etc/vhpc/modules")
                try boot.write(GuestInitScripts.diskBootInit, to: "/init", mode: 0o755)
                try ImagePacker.initramfs(from: bootTree, to: output + "/initrd.img", compression: kernel.initrdCompression)
            }
            let file = spec.format == .qcow2 ? "disk.qcow2" : "disk.ext4"
            disk = try Self.artifact(file, in: output)
            diskFormat = spec.format == .qcow2 ? "qcow2" : "raw"
            commandLine = "root=/dev/vda rw rdinit=/init"
        }
        try FileManager.default.removeItem(atPath: tree)
        // The initrd and disk hold the spec's files, some of them private (mode 0600 in the spec): only the
        // image's owner may read them. (The kernel is Debian's, shared with the kernel cache by a hard link.)
        for file in ["initrd.img", "disk.ext4", "disk.qcow2"] where FileManager.default.fileExists(atPath: output + "/" + file) {
            chmod(output + "/" + file, 0o600)
        }
        let kernelFile = PVHKernel.isELF(path: kernel.imagePath) ? "vmlinux" : "vmlinuz"
        try Self.linkOrCopy(kernel.imagePath, to: output + "/" + kernelFile)

        let manifest = ImageManifest(
            id: key, name: spec.name, specHash: spec.specHash, builderVersion: Self.version, createdAt: Date(),
            base: spec.base.specString, format: spec.format.rawValue,
            kernel: try Self.artifact(kernelFile, in: output), initrd: try Self.artifact("initrd.img", in: output),
            disk: disk, diskFormat: diskFormat, kernelRelease: kernel.release, kernelCommandLine: commandLine,
            guestChannel: GuestChannelDescription(), modules: modules, environment: spec.environment,
            defaultVCPUs: spec.resources.vcpus, defaultMemoryBytes: spec.resources.memoryBytes)
        try manifest.encoded().write(to: URL(fileURLWithPath: output + "/" + ImageManifest.fileName))
        try step("publish", progress) { _ = try AtomicRename.publish(output, to: state.images + "/" + key) }
        guard let entry = store.entry(id: key) else { throw BuildError.interrupted }
        return Result(entry: entry, cacheHit: false)
    }

    /// Why `entry`'s files are not the ones its manifest records (size or SHA-256), or nil if they are.
    public static func corruption(of entry: ImageEntry) -> String? {
        let manifest = entry.manifest
        for artifact in [manifest.kernel, manifest.initrd] + (manifest.disk.map { [$0] } ?? []) {
            let path = entry.path(of: artifact)
            let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.uint64Value
            guard size == artifact.size else { return "\(artifact.path): \(size.map { "\($0) bytes" } ?? "missing"), expected \(artifact.size)" }
            guard (try? FileHashing.sha256(ofFile: path)) == artifact.sha256 else { return "\(artifact.path): SHA-256 differs from the manifest's" }
        }
        return nil
    }

    /// Images are never modified in place, so the kernel cache's file can be shared by a hard link.
    static func linkOrCopy(_ source: String, to destination: String) throws {
        if link(source, destination) == 0 { return }
        try HostCommand("cp", [source, destination]).run()
    }

    /// The manifest record (size, SHA-256) of file `name` in `directory`.
    public static func artifact(_ name: String, in directory: String) throws -> Artifact {
        let path = directory + "/" + name
        let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.uint64Value ?? 0
        return Artifact(path: name, size: size, sha256: try FileHashing.sha256(ofFile: path))
    }

    private func step<T>(_ name: String, _ progress: @Sendable (BuildEvent) -> Void, _ body: () throws -> T) throws -> T {
        if CleanupRegistry.shared.interrupted { throw BuildError.interrupted }
        progress(BuildEvent(step: name, phase: .started))
        let clock = ContinuousClock()
        let start = clock.now
        let value = try body()
        progress(BuildEvent(step: name, phase: .finished(clock.now - start)))
        return value
    }
}

/// Progress of a build, for the CLI to show.
public struct BuildEvent: Sendable {
    public enum Phase: Sendable {
        case started
        case finished(Duration)
    }
    public var step: String
    public var phase: Phase
}

extension KernelSource {
    var displayName: String {
        switch self {
        case .package(let name): return name
        case .path(let path): return path
        }
    }
}
