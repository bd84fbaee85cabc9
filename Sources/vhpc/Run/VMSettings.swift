import NodeAgent
import VSE
import Wire

/// `vhpc run`'s per-VM options (`--vcpus`, `--memory`, `--hypervisor`, `--no-snapshot`), checked before
/// anything starts and handed to the nodes' tool agents in the launch (``TaskRuntime/vms(_:)``, read by
/// ``VMTaskBackend``).
struct VMSettings: Equatable {
    var vcpus: Int?
    var memoryBytes: UInt64?
    var hypervisor = "auto"
    /// False with `--no-snapshot`: every VM boots cold.
    var snapshots = true

    /// The launch's runtime for VMs of image `imageID`.
    func runtime(imageID: String) -> TaskRuntime {
        .vms(VMJobSpec(imageID: imageID, hypervisor: hypervisor, vcpus: vcpus, memoryBytes: memoryBytes, snapshots: snapshots))
    }

    static func parse(vse: String?, vcpus: Int?, memory: String?, hypervisor: String) throws -> VMSettings {
        if vse == nil, vcpus != nil || memory != nil || hypervisor != "auto" {
            throw CLIErrors.fail("--vcpus, --memory and --hypervisor apply to VMs: add --vse SPEC")
        }
        switch hypervisor {
        case "auto", "qemu", "libvirt", "simulated": break
        case "xen", "palacios":
            throw CLIErrors.fail("--hypervisor \(hypervisor): its configuration is generated (vhpc vm start), not run here; use auto, qemu or libvirt")
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
        return VMSettings(vcpus: vcpus, memoryBytes: bytes, hypervisor: hypervisor)
    }
}
