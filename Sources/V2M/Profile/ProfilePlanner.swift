import VSE

/// Generates VM profiles from job data (paper §4): a node's allocation and a layout — K VMs per node, or
/// one VM per core (the HPC default) — become K profiles with an even vCPU/memory split. Refuses to
/// over-subscribe cores or memory unless `oversubscribe` is set. Pure.
public struct ProfilePlanner: Sendable {
    /// How many VMs a node gets.
    public enum Layout: Sendable, Equatable {
        /// `--vms-per-node K`.
        case vmsPerNode(Int)
        /// One single-vCPU VM per allocated core.
        case onePerCore
    }

    /// Allow more vCPUs than cores or more memory than allocated.
    public var oversubscribe: Bool
    /// Fixed vCPUs per VM (default: the even split).
    public var vcpusPerVM: Int?
    /// Fixed memory per VM (default: the even split of the allocation, capped by nothing).
    public var memoryPerVM: UInt64?
    /// The smallest VM worth booting.
    public var minimumMemoryBytes: UInt64

    public init(oversubscribe: Bool = false, vcpusPerVM: Int? = nil, memoryPerVM: UInt64? = nil,
                minimumMemoryBytes: UInt64 = 64 << 20) {
        self.oversubscribe = oversubscribe
        self.vcpusPerVM = vcpusPerVM
        self.memoryPerVM = memoryPerVM
        self.minimumMemoryBytes = minimumMemoryBytes
    }

    /// One VM's share: name index, vCPUs, memory.
    public struct Slot: Sendable, Equatable {
        public var index: Int
        public var vcpus: Int
        public var memoryBytes: UInt64
    }

    /// The vCPU/memory split for `node` (no image needed).
    public func slots(for node: NodeAllocation, layout: Layout) throws(V2MError) -> [Slot] {
        guard node.cores >= 1 else { throw .invalidProfile("node \(node.hostname) has no cores allocated") }
        guard node.memoryBytes > node.reservedMemoryBytes else {
            throw .invalidProfile("node \(node.hostname): reserved memory \(node.reservedMemoryBytes) ≥ allocation \(node.memoryBytes)")
        }
        let count: Int
        switch layout {
        case .vmsPerNode(let k):
            guard k >= 1 else { throw .invalidProfile("--vms-per-node must be at least 1 (got \(k))") }
            count = k
        case .onePerCore:
            count = node.cores
        }
        let usable = node.memoryBytes - node.reservedMemoryBytes
        let vcpus = vcpusPerVM ?? (layout == .onePerCore ? 1 : max(1, node.cores / count))
        let evenMemory = (usable / UInt64(count)) & ~UInt64((1 << 20) - 1)
        let memory = memoryPerVM ?? evenMemory
        guard vcpus >= 1 else { throw .invalidProfile("vcpus per VM must be at least 1") }
        if !oversubscribe {
            if count * vcpus > node.cores {
                throw .overSubscription("\(count) VMs × \(vcpus) vCPUs = \(count * vcpus) vCPUs on \(node.hostname), which has \(node.cores) cores")
            }
            if UInt64(count) * memory > usable {
                throw .overSubscription("\(count) VMs × \(memory >> 20) MiB = \((UInt64(count) * memory) >> 20) MiB on \(node.hostname), which has \(usable >> 20) MiB for VMs")
            }
        }
        guard memory >= minimumMemoryBytes else {
            throw .invalidProfile("\(count) VMs on \(node.hostname) leave \(memory >> 20) MiB each; at least \(minimumMemoryBytes >> 20) MiB needed")
        }
        return (0..<count).map { Slot(index: $0, vcpus: vcpus, memoryBytes: memory) }
    }

    /// The profiles for one node of a job. VM names are `<job>-n<node>-<i>`; runtime directories are
    /// `<runtimeParent>/<name>`.
    public func plan(image: ImageEntry, node: NodeAllocation, nodeIndex: Int, layout: Layout, jobID: String,
                     runtimeParent: String, nics: Int = 0) throws(V2MError) -> [VMProfile] {
        try slots(for: node, layout: layout).map { slot in
            let name = "\(jobID)-n\(nodeIndex)-\(slot.index)"
            let nicList = (0..<nics).map { VMNIC(mac: VMNIC.mac(for: name, index: $0), network: .user) }
            return VMProfile(image: image, name: name, vcpus: slot.vcpus, memoryBytes: slot.memoryBytes,
                             runtimeDirectory: runtimeParent + "/" + name, nics: nicList)
        }
    }
}
