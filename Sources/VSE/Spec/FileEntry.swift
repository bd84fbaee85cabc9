/// A host file copied into the image.
public struct FileEntry: Sendable, Hashable, Codable {
    /// Absolute host path (relative paths in a spec are resolved against the spec's directory).
    public var source: String
    /// Absolute path inside the guest.
    public var target: String
    /// Permission bits of the copied file, e.g. `0o644`.
    public var mode: UInt32

    /// The mode used when a spec does not give one.
    public static let defaultMode: UInt32 = 0o644

    public init(source: String, target: String, mode: UInt32 = FileEntry.defaultMode) {
        self.source = source
        self.target = target
        self.mode = mode
    }
}
