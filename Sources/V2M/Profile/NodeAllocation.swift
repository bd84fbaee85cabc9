/// What a job got on one node (from the resource manager or the host): the input to profile planning.
public struct NodeAllocation: Sendable, Equatable, Codable {
    public var hostname: String
    public var cores: Int
    public var memoryBytes: UInt64
    /// Memory kept for the host and the hypervisor's own overhead; not given to VMs.
    public var reservedMemoryBytes: UInt64

    public init(hostname: String, cores: Int, memoryBytes: UInt64, reservedMemoryBytes: UInt64 = 0) {
        self.hostname = hostname
        self.cores = cores
        self.memoryBytes = memoryBytes
        self.reservedMemoryBytes = reservedMemoryBytes
    }
}
