import NodeAgent
import VSE

/// `vhpc run`'s per-VM options (`--vcpus`, `--memory`, `--hypervisor`), checked before anything starts and
/// handed to the nodes' tool agents as launch environment (read back by ``VMTaskBackend``).
struct VMSettings: Equatable {
    static let vcpusVariable = VMTaskBackend.vcpusVariable
    static let memoryVariable = VMTaskBackend.memoryVariable
    static let noSnapshotVariable = VMTaskBackend.noSnapshotVariable

    var vcpus: Int?
    var memoryBytes: UInt64?
    /// False with `--no-snapshot`: every VM boots cold.
    var snapshots = true

    /// What the tool agents read.
    var environment: [String: String] {
        var result: [String: String] = [:]
        if let vcpus { result[Self.vcpusVariable] = String(vcpus) }
        if let memoryBytes { result[Self.memoryVariable] = String(memoryBytes) }
        if !snapshots { result[Self.noSnapshotVariable] = "1" }
        return result
    }

    static func parse(vse: String?, vcpus: Int?, memory: String?, hypervisor: String) throws -> VMSettings {
        if vse == nil, vcpus != nil || memory != nil || hypervisor != "auto" {
            throw CLIErrors.fail("--vcpus, --memory and --hypervisor apply to VMs: add --vse SPEC")
        }
        switch hypervisor {
        case "auto", "qemu": break
        case "libvirt", "xen", "palacios", "simulated":
            throw CLIErrors.fail("--hypervisor \(hypervisor): vhpc run --vse boots its VMs with the qemu plug-in, the one whose VMs join the job network (libvirt cannot attach a unix datagram NIC; xen and palacios are generated, not run here; simulated runs no guest); use auto or qemu")
        default:
            throw CLIErrors.fail("--hypervisor '\(hypervisor)' is not known (auto, qemu, libvirt, xen, palacios, simulated)")
        }
        if let vcpus, vcpus < 1 { throw CLIErrors.fail("--vcpus must be at least 1 (got \(vcpus))") }
        var bytes: UInt64?
        if let memory {
            guard let parsed = SizeParser.parseBytes(memory) else {
                throw CLIErrors.fail("--memory '\(memory)' is not a size (e.g. 512M, 2G)")
            }
            guard parsed >= 32 << 20 else { throw CLIErrors.fail("--memory must be at least 32M (got \(memory))") }
            bytes = parsed
        }
        return VMSettings(vcpus: vcpus, memoryBytes: bytes)
    }

    init(vcpus: Int?, memoryBytes: UInt64?, snapshots: Bool = true) {
        self.vcpus = vcpus
        self.memoryBytes = memoryBytes
        self.snapshots = snapshots
    }
}
