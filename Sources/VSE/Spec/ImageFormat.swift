/// The on-disk form of a built image.
public enum ImageFormat: String, Sendable, Hashable, Codable, CaseIterable {
    /// A compressed cpio archive loaded as the initial ram filesystem.
    case initramfs
    /// A raw ext4 disk image.
    case ext4
    /// A qcow2 disk image holding an ext4 filesystem.
    case qcow2

    /// The format used when a spec does not give one.
    public static let `default` = ImageFormat.initramfs
}
