/// The operating system an image is built from.
///
/// Written in a spec as `debian:<release>` (bootstrapped with mmdebstrap) or `busybox`
/// (a static busybox userland, no package manager).
public enum BaseSystem: Sendable, Hashable, Codable {
    /// A Debian release such as `bookworm`, bootstrapped with mmdebstrap.
    case debian(release: String)
    /// A minimal static busybox userland.
    case busybox

    /// The spelling used in specs: `debian:bookworm` or `busybox`.
    public var specString: String {
        switch self {
        case .debian(let release): "debian:\(release)"
        case .busybox: "busybox"
        }
    }

    /// Whether Debian packages can be installed on this base.
    public var supportsPackages: Bool {
        if case .debian = self { return true }
        return false
    }
}
