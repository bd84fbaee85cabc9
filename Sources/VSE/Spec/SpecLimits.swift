/// Bounds the validator enforces on spec values.
public enum SpecLimits {
    /// Longest accepted `name` (a DNS label).
    public static let maxNameLength = 63
    /// Accepted `resources.vcpus`.
    public static let vcpus: ClosedRange<Int> = 1...1024
    /// Accepted `resources.memory`, in bytes: 64 MiB to 4 TiB.
    public static let memoryBytes: ClosedRange<UInt64> = (64 << 20)...(4 << 40)
    /// Largest accepted file `mode`.
    public static let maxMode: UInt32 = 0o7777
}
