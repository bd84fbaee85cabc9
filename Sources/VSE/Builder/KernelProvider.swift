import Crypto
import Foundation
import HostProcess

/// A guest kernel ready to use: the image, its release and (for packaged kernels) its module tree.
public struct PreparedKernel: Sendable, Equatable {
    /// What a VM boots: the PVH ELF unpacked from the bzImage when it has one, else the image as given.
    public var imagePath: String
    public var release: String
    /// `lib/modules/<release>` with `modules.dep`, or nil for a bare kernel image given by path.
    public var modulesDirectory: String?
    /// What identifies this kernel in a cache key: `package=version` or the image's SHA-256.
    public var identity: String
    /// How initramfs archives for this kernel are compressed (what it can unpack, fastest first).
    public var initrdCompression: InitrdCompression = .gzip
}

/// An initramfs compression the guest kernel can undo. LZ4 unpacks about 0.2 s faster than gzip
/// under TCG for a 16 MiB archive; gzip is what every kernel supports.
public enum InitrdCompression: String, Sendable, Equatable {
    case lz4
    case gzip

    /// The strongest choice a kernel config (`/boot/config-*` text) allows.
    static func best(forKernelConfig config: String) -> InitrdCompression {
        config.split(separator: "\n").contains("CONFIG_RD_LZ4=y") ? .lz4 : .gzip
    }

    /// The shell filter that compresses a cpio stream (reproducibly: no names or times stored).
    var filter: String {
        switch self {
        case .lz4: return "lz4 -l -q"
        case .gzip: return "gzip -1 -n"
        }
    }
}

/// Fetches Debian kernel packages with `apt-get download` and unpacks them with `dpkg -x` into the
/// state directory's kernel cache (the host's own kernel and package database are never touched).
public struct KernelProvider: Sendable {
    public let state: StateDirectory

    public init(state: StateDirectory) {
        self.state = state
    }

    /// The identity of a kernel source without fetching anything (used to compute cache keys).
    public func identity(of source: KernelSource) throws -> String {
        switch source {
        case .path(let path):
            return "path:" + (try FileHashing.sha256(ofFile: path))
        case .package(let name):
            let resolved = try resolvePackage(name)
            return "deb:\(resolved.name)=\(resolved.version)"
        }
    }

    /// Fetches (or reuses) the kernel.
    public func prepare(_ source: KernelSource) throws -> PreparedKernel {
        switch source {
        case .path(let path):
            let hash = try FileHashing.sha256(ofFile: path)
            try state.ensure(state.kernels + "/pvh")
            let boot = PVHKernel.unpack(bzImage: path, cachePath: state.kernels + "/pvh/" + hash) ?? path
            return PreparedKernel(imagePath: boot, release: "unknown", modulesDirectory: nil, identity: "path:" + hash)
        case .package(let name):
            let resolved = try resolvePackage(name)
            let directory = state.kernels + "/\(resolved.name)_\(resolved.version)"
            if let kernel = load(directory: directory, identity: "deb:\(resolved.name)=\(resolved.version)") { return kernel }
            try fetch(resolved, into: directory)
            guard let kernel = load(directory: directory, identity: "deb:\(resolved.name)=\(resolved.version)") else {
                throw KernelError.noKernelImage(package: resolved.name)
            }
            return kernel
        }
    }

    private func load(directory: String, identity: String) -> PreparedKernel? {
        let boot = directory + "/boot"
        guard let image = (try? FileManager.default.contentsOfDirectory(atPath: boot))?.first(where: { $0.hasPrefix("vmlinuz-") }) else {
            return nil
        }
        let release = String(image.dropFirst("vmlinuz-".count))
        let modules = directory + "/lib/modules/" + release
        guard FileManager.default.fileExists(atPath: modules + "/modules.dep") else { return nil }
        let bootImage = PVHKernel.unpack(bzImage: boot + "/" + image, cachePath: boot + "/vmlinux-" + release) ?? boot + "/" + image
        let config = (try? String(contentsOfFile: boot + "/config-" + release, encoding: .utf8)) ?? ""
        return PreparedKernel(imagePath: bootImage, release: release, modulesDirectory: modules, identity: identity,
                              initrdCompression: .best(forKernelConfig: config))
    }

    /// A concrete kernel package: metapackages such as `linux-image-cloud-amd64` are followed to the
    /// versioned `linux-image-<release>` they depend on.
    struct ResolvedPackage {
        var name: String
        var version: String
    }

    /// Resolves through a small cache in `kernels/resolved/` that is valid while apt's package lists
    /// are unchanged (asking apt-cache costs about a second; a cache hit must not).
    func resolvePackage(_ name: String) throws -> ResolvedPackage {
        let stamp = Self.aptListsStamp()
        let cacheFile = state.kernels + "/resolved/" + name
        if let text = try? String(contentsOfFile: cacheFile, encoding: .utf8) {
            let fields = text.split(separator: "\n").map(String.init)
            if fields.count == 3, fields[0] == stamp { return ResolvedPackage(name: fields[1], version: fields[2]) }
        }
        let resolved = try resolveWithApt(name)
        try? state.ensure(state.kernels + "/resolved")
        let temporary = cacheFile + ".\(getpid())"
        if (try? Data("\(stamp)\n\(resolved.name)\n\(resolved.version)".utf8).write(to: URL(fileURLWithPath: temporary))) != nil {
            rename(temporary, cacheFile)
        }
        return resolved
    }

    /// Changes whenever `apt-get update` changes the package lists.
    static func aptListsStamp() -> String {
        let directory = "/var/lib/apt/lists"
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.contains("_Packages") }.sorted()
        return names.map { name -> String in
            var st = stat()
            stat(directory + "/" + name, &st)
            return "\(name):\(st.st_size):\(st.st_mtim.tv_sec)"
        }.joined(separator: ",")
    }

    func resolveWithApt(_ name: String, depth: Int = 0) throws -> ResolvedPackage {
        let output = try HostCommand("apt-cache", ["show", "--no-all-versions", name]).runAllowingFailure()
        guard output.status == 0, let fields = Self.controlFields(output.stdoutText), let version = fields["Version"] else {
            throw KernelError.unknownPackage(name)
        }
        let depends = fields["Depends"] ?? ""
        let kernelDependency = depends.split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces).split(separator: " ").first.map(String.init) ?? "" }
            .first { $0.hasPrefix("linux-image-") }
        if let dependency = kernelDependency, !Self.isVersionedImage(name), depth < 3 {
            return try resolveWithApt(dependency, depth: depth + 1)
        }
        return ResolvedPackage(name: name, version: version)
    }

    static func isVersionedImage(_ name: String) -> Bool {
        // linux-image-6.1.0-56-cloud-amd64: a digit right after "linux-image-".
        name.dropFirst("linux-image-".count).first?.isNumber ?? false
    }

    static func controlFields(_ text: String) -> [String: String]? {
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n") {
            if line.isEmpty { break }
            guard let colon = line.firstIndex(of: ":"), !line.hasPrefix(" ") else { continue }
            fields[String(line[..<colon])] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return fields.isEmpty ? nil : fields
    }

    private func fetch(_ package: ResolvedPackage, into directory: String) throws {
        try state.ensure(state.kernels)
        try state.ensure(state.tmp)
        let work = try TemporaryDirectory(in: state.tmp, prefix: "kernel")
        defer { work.remove() }
        // _apt cannot write into root-only dirs; the work dir is world-writable only for the download.
        chmod(work.path, 0o777)
        try HostCommand("apt-get", ["download", "-q", "\(package.name)=\(package.version)"], workingDirectory: work.path).run()
        guard let deb = try FileManager.default.contentsOfDirectory(atPath: work.path).first(where: { $0.hasSuffix(".deb") }) else {
            throw KernelError.noKernelImage(package: package.name)
        }
        let tree = work.path + "/tree"
        try HostCommand("dpkg", ["-x", work.path + "/" + deb, tree]).run()
        guard let image = try? FileManager.default.contentsOfDirectory(atPath: tree + "/boot").first(where: { $0.hasPrefix("vmlinuz-") }) else {
            throw KernelError.noKernelImage(package: package.name)
        }
        let release = String(image.dropFirst("vmlinuz-".count))
        try HostCommand("depmod", ["-b", tree, release]).run()
        try AtomicRename.publish(tree, to: directory)
    }
}

/// Why a kernel could not be prepared.
public enum KernelError: Error, CustomStringConvertible {
    case unknownPackage(String)
    case noKernelImage(package: String)

    public var description: String {
        switch self {
        case .unknownPackage(let name):
            return "kernel package '\(name)' is not known to apt (check the name; `apt-get update` may be needed)"
        case .noKernelImage(let name):
            return "package '\(name)' contains no /boot/vmlinuz-* kernel image"
        }
    }
}
