/// A Virtual System Environment: what an application needs, written once by the user.
///
/// Produced by ``SpecLoader`` from a YAML file; every path in it is absolute.
public struct VSESpec: Sendable, Hashable, Codable {
    /// Image name, `[a-z0-9-]+`, at most 63 characters.
    public var name: String
    /// The operating system the image is built from.
    public var base: BaseSystem
    /// Where the guest kernel comes from.
    public var kernel: KernelSource
    /// Debian packages to install (empty for busybox).
    public var packages: [String]
    /// Host files copied into the image.
    public var files: [FileEntry]
    /// Environment for applications run in the guest.
    public var environment: [String: String]
    /// Shell commands run inside the image at build time, in order.
    public var setup: [String]
    /// The on-disk form of the image.
    public var format: ImageFormat
    /// Default resources of VMs made from the image.
    public var resources: Resources
    /// Absolute path of the spec file, if it came from one; not part of the spec's identity
    /// for ``normalizedJSON()`` and ``specHash``.
    public var sourcePath: String?

    public init(
        name: String,
        base: BaseSystem,
        kernel: KernelSource = .default,
        packages: [String] = [],
        files: [FileEntry] = [],
        environment: [String: String] = [:],
        setup: [String] = [],
        format: ImageFormat = .default,
        resources: Resources = .default,
        sourcePath: String? = nil
    ) {
        self.name = name
        self.base = base
        self.kernel = kernel
        self.packages = packages
        self.files = files
        self.environment = environment
        self.setup = setup
        self.format = format
        self.resources = resources
        self.sourcePath = sourcePath
    }
}
