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

    /// `shape` was checked by its own `validate()`; `cpusPerTask` (`-c`) is the other way to give vCPUs.
    static func parse(vse: String?, shape: VMShapeOptions, cpusPerTask: Int?, hypervisor: String) throws -> VMSettings {
        let vcpus = shape.vcpus ?? cpusPerTask
        if vse == nil, vcpus != nil || shape.memory != nil || hypervisor != "auto" {
            throw CLIErrors.fail("--vcpus, --memory and --hypervisor apply to VMs: add --vse SPEC")
        }
        // An unknown name never gets here (the parser refuses it); these two are known but not run here.
        if hypervisor == "xen" || hypervisor == "palacios" {
            throw CLIErrors.fail("--hypervisor \(hypervisor): its configuration is generated (vhpc vm start), not run here; use auto, qemu or libvirt")
        }
        if let vcpus, vcpus < 1 { throw CLIErrors.fail("-c/--cpus-per-task must be at least 1 (got \(vcpus))") }
        return VMSettings(vcpus: vcpus, memoryBytes: shape.memoryBytes, hypervisor: hypervisor)
    }
}
