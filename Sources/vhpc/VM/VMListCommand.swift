import ArgumentParser
import Foundation
import TextReport
import V2M

/// `vhpc vm list`: every recorded VM with the state its hypervisor reports now (libvirt: the domain's state;
/// QEMU: a VM whose process is gone is never `running`).
struct VMListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List VMs: those of `vhpc vm start` and those running a `vhpc run --vse` job's tasks (JOB, RANK).")

    @Flag(help: "Print JSON (schema 1).") var json = false

    /// One VM as `vm list --json` and `vm status --json` show it.
    struct VMJSON: Encodable {
        var name: String
        var state: String
        var hypervisor: String
        var accelerator: String
        var pid: Int32?
        var image: String
        var imageID: String
        var vcpus: Int
        var memoryMiB: Int
        var startedAt: Date
        var job: String?
        var rank: Int?

        init(_ record: VMRecord, state: VMState) {
            name = record.name
            self.state = state.rawValue
            hypervisor = record.hypervisor.rawValue
            accelerator = "\(record.accelerator)"
            pid = record.runtime?.pid
            image = record.profile.imageName
            imageID = record.profile.imageID
            vcpus = record.profile.vcpus
            memoryMiB = Int(record.profile.memoryMiB)
            startedAt = record.startedAt
            job = record.job
            rank = record.rank
        }
    }

    struct ListJSON: Encodable {
        var schema = 1
        var vms: [VMJSON]
    }

    func run() async throws {
        LoggingSetup.bootstrap(verbose: false)
        var vms: [VMJSON] = []
        for record in VMSupport.records.list() {
            vms.append(VMJSON(record, state: await VMSupport.observedState(record)))
        }
        if json {
            print(try JobHistoryAccess.json(ListJSON(vms: vms)))
            return
        }
        var rows = [["NAME", "STATE", "HYPERVISOR", "PID", "IMAGE", "VCPUS", "MEMORY", "JOB", "RANK"]]
        for vm in vms {
            rows.append([vm.name, vm.state, vm.hypervisor, vm.pid.map(String.init) ?? "-", vm.image, String(vm.vcpus),
                         "\(vm.memoryMiB)M", vm.job ?? "-", vm.rank.map(String.init) ?? "-"])
        }
        print(TextTable.render(rows), terminator: "")
    }
}
