import Foundation

/// Describes a built VSE image: its artifacts and how to boot it. Names no hypervisor.
///
/// Stored as `manifest.json` in the image directory; artifact paths are relative to that directory.
public struct ImageManifest: Codable, Sendable, Equatable {
    /// Content hash of everything that went into the image (the cache key); also the image id.
    public var id: String
    public var name: String
    /// SHA-256 of the normalized spec alone.
    public var specHash: String
    public var builderVersion: String
    public var createdAt: Date
    /// `busybox` or `debian:<release>`.
    public var base: String
    public var format: String
    public var kernel: Artifact
    /// The initramfs: the whole system (format initramfs) or a small boot loader that mounts `disk`.
    public var initrd: Artifact
    /// The root disk (ext4 raw or qcow2) when the format is not initramfs.
    public var disk: Artifact?
    /// `raw` or `qcow2` when there is a disk.
    public var diskFormat: String?
    public var kernelRelease: String
    /// Command line the kernel needs for this image (console and root settings are added by the plug-in).
    public var kernelCommandLine: String
    public var guestChannel: GuestChannelDescription
    /// Kernel modules inside the initrd, loaded at boot.
    public var modules: [String]
    public var environment: [String: String]
    public var defaultVCPUs: Int
    public var defaultMemoryBytes: UInt64

    public init(id: String, name: String, specHash: String, builderVersion: String, createdAt: Date, base: String,
                format: String, kernel: Artifact, initrd: Artifact, disk: Artifact?, diskFormat: String?,
                kernelRelease: String, kernelCommandLine: String, guestChannel: GuestChannelDescription,
                modules: [String], environment: [String: String], defaultVCPUs: Int, defaultMemoryBytes: UInt64) {
        self.id = id
        self.name = name
        self.specHash = specHash
        self.builderVersion = builderVersion
        self.createdAt = createdAt
        self.base = base
        self.format = format
        self.kernel = kernel
        self.initrd = initrd
        self.disk = disk
        self.diskFormat = diskFormat
        self.kernelRelease = kernelRelease
        self.kernelCommandLine = kernelCommandLine
        self.guestChannel = guestChannel
        self.modules = modules
        self.environment = environment
        self.defaultVCPUs = defaultVCPUs
        self.defaultMemoryBytes = defaultMemoryBytes
    }

    public static let fileName = "manifest.json"

    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        return try encoder.encode(self)
    }

    public static func decode(_ data: Data) throws -> ImageManifest {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(ImageManifest.self, from: data)
    }
}

/// One file of an image: its path relative to the image directory, size and SHA-256.
public struct Artifact: Codable, Sendable, Equatable {
    public var path: String
    public var size: UInt64
    public var sha256: String

    public init(path: String, size: UInt64, sha256: String) {
        self.path = path
        self.size = size
        self.sha256 = sha256
    }
}

/// How the host talks to the guest agent: a virtio-serial port of a known name.
public struct GuestChannelDescription: Codable, Sendable, Equatable {
    public var kind: String
    public var name: String

    public init(kind: String = "virtio-serial", name: String = "org.vhpc.guest.0") {
        self.kind = kind
        self.name = name
    }
}
