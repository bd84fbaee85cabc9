import NIOCore

/// Where a launch's tasks run on each node: as plain processes, or each in a VM of its own booted from a
/// VSE image by the node's tool agent (`vhpc run --vse`).
public enum TaskRuntime: Hashable, Sendable {
    case processes
    case vms(VMJobSpec)

    func encode(into buffer: inout ByteBuffer) {
        switch self {
        case .processes:
            buffer.writeInteger(UInt8(0))
        case .vms(let spec):
            buffer.writeInteger(UInt8(1))
            spec.encode(into: &buffer)
        }
    }

    init(reading reader: inout PayloadReader) throws(WireError) {
        switch try reader.integer("task runtime", as: UInt8.self) {
        case 0: self = .processes
        case 1: self = .vms(try VMJobSpec(reading: &reader))
        case let tag: throw reader.malformed("bad task runtime \(tag)")
        }
    }
}

/// The VMs of a job's tasks: which image (by content id, staged to every node), which hypervisor plug-in
/// (`auto`, `qemu`, `libvirt`, `simulated`…, as `--hypervisor` names it), each VM's size (nil: the image's
/// defaults), and whether VMs may start from snapshots.
public struct VMJobSpec: Hashable, Sendable {
    public var imageID: String
    public var hypervisor: String
    public var vcpus: Int?
    public var memoryBytes: UInt64?
    /// Whether VMs may start from their image's saved guest (false: `--no-snapshot`, every VM boots cold).
    public var snapshots: Bool

    public init(imageID: String, hypervisor: String = "auto", vcpus: Int? = nil, memoryBytes: UInt64? = nil,
                snapshots: Bool = true) {
        self.imageID = imageID
        self.hypervisor = hypervisor
        self.vcpus = vcpus
        self.memoryBytes = memoryBytes
        self.snapshots = snapshots
    }

    func encode(into buffer: inout ByteBuffer) {
        buffer.writeWireString(imageID)
        buffer.writeWireString(hypervisor)
        buffer.writeInteger(UInt32(clamping: vcpus ?? 0))
        buffer.writeInteger(memoryBytes ?? 0)
        buffer.writeWireBool(snapshots)
    }

    init(reading reader: inout PayloadReader) throws(WireError) {
        imageID = try reader.string("image id")
        hypervisor = try reader.string("hypervisor")
        let vcpus = try reader.integer("vcpus", as: UInt32.self)
        self.vcpus = vcpus == 0 ? nil : Int(vcpus)
        let memory = try reader.integer("memory", as: UInt64.self)
        memoryBytes = memory == 0 ? nil : memory
        snapshots = try reader.bool("snapshots")
    }
}
