/// Default resources of the VMs made from an image.
public struct Resources: Sendable, Hashable, Codable {
    /// Virtual CPUs per VM.
    public var vcpus: Int
    /// Guest memory in bytes.
    public var memoryBytes: UInt64

    /// One vCPU and 512 MiB.
    public static let `default` = Resources(vcpus: 1, memoryBytes: 512 << 20)

    public init(vcpus: Int, memoryBytes: UInt64) {
        self.vcpus = vcpus
        self.memoryBytes = memoryBytes
    }
}
