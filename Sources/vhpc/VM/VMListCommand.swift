import ArgumentParser
import Foundation
import V2M

/// `vhpc vm list`: every recorded VM with its actual state (a VM whose process is gone is never `running`).
struct VMListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List VMs started with `vhpc vm start`.")

    func run() async throws {
        LoggingSetup.bootstrap(verbose: false)
        var rows = [["NAME", "STATE", "HYPERVISOR", "PID", "IMAGE", "VCPUS", "MEMORY"]]
        for record in VMSupport.records.list() {
            rows.append([record.name, record.effectiveState.rawValue, record.hypervisor.rawValue,
                         record.runtime?.pid.map(String.init) ?? "-", record.profile.imageName,
                         String(record.profile.vcpus), "\(record.profile.memoryMiB)M"])
        }
        print(TextTable.render(rows), terminator: "")
    }
}
