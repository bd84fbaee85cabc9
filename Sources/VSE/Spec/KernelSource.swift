/// Where the guest kernel comes from.
public enum KernelSource: Sendable, Hashable, Codable {
    /// A Debian kernel package, e.g. `linux-image-cloud-amd64`, fetched with `apt-get download`.
    case package(String)
    /// An absolute path to a kernel image on the host.
    case path(String)

    /// The kernel used when a spec does not name one.
    public static let defaultPackage = "linux-image-cloud-amd64"

    /// `.package(defaultPackage)`.
    public static let `default` = KernelSource.package(defaultPackage)
}
