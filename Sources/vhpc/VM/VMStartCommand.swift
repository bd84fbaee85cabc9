import ArgumentParser
import Foundation
import Logging
import V2M
import VSE

/// `vhpc vm start --image NAME|ID`: boot a VM that outlives this command; prints its name.
struct VMStartCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "start", abstract: "Start a VM from a cached image.")

    @Option(help: "Image name or id (see `vhpc vse list`).") var image: String
    @Option(help: "auto, qemu, libvirt, xen or palacios (xen and palacios: generated, not run here).") var hypervisor: HypervisorChoice = .auto
    @OptionGroup var shape: VMShapeOptions
    @Option(help: "VM name (default: <image>-<random>).") var name: String?
    @Option(help: "Accelerator: auto (probe KVM, else TCG), kvm or tcg.") var accel: AcceleratorChoice = .auto
    @Option(help: ArgumentHelp("How long to wait for the guest agent, e.g. 120s, 2m.", valueName: "DURATION")) var timeout = DurationArgument("120s")
    @Flag(name: .shortAndLong, help: "Log what happens.") var verbose = false

    func validate() throws {
        if timeout.duration <= .zero { throw ValidationError("--timeout must be positive") }
        if hypervisor == .specific(.simulated) {
            throw ValidationError("the simulated hypervisor lives in one process's memory (unit tests, scale simulation): a VM it started could never be reached by a later `vhpc vm` command; use auto, qemu or libvirt")
        }
    }

    func run() async throws {
        LoggingSetup.bootstrap(verbose: verbose)
        let logger = Logger(label: "vhpc.vm")
        let state = VMSupport.state
        do {
            let entry = try ImageStore(state: state).resolve(image)
            let memoryBytes = shape.memoryBytes
            let hostMemory = ProcessInfo.processInfo.physicalMemory
            if let memoryBytes, memoryBytes > hostMemory {
                throw V2MError.invalidProfile("--memory \(shape.memory!) is more than this host has (\(hostMemory >> 20) MiB)")
            }
            let vmName = name ?? "\(entry.manifest.name)-\(String(UInt32.random(in: 0...0xffff_ff), radix: 16))"
            // Two concurrent starts of one name: exactly one goes on.
            let reservation = try VMNameReservation.acquire(vmName, state: state)
            defer { reservation.release() }
            let records = VMSupport.records
            if records.exists(vmName), (try? records.load(vmName))?.effectiveState.isActive == true {
                throw V2MError.vmExists(vmName)
            }
            let directory = try RuntimeDirectory.vmPath(name: vmName, preferredParent: state.vms)
            let selector = HypervisorSelector(state: state, accelerator: accel, probeImage: entry, detached: true,
                                              bootTimeout: timeout.duration, logger: logger)
            let (plugin, explanation) = try await selector.select(hypervisor)
            CLIErrors.printError("vhpc: hypervisor \(explanation)")
            let profile = VMProfile(image: entry, name: vmName, vcpus: shape.vcpus, memoryBytes: memoryBytes,
                                    runtimeDirectory: directory)
            let vm = try plugin.define(profile)
            let accelerator = (plugin as? QEMUHypervisor)?.accelerator ?? (plugin as? LibvirtHypervisor)?.accelerator ?? .tcg
            var record = VMRecord(name: vmName, hypervisor: plugin.kind, accelerator: accelerator, profile: profile,
                                  runtime: nil, recordedState: .starting)
            try records.save(record)
            do {
                try await vm.start()
            } catch {
                records.remove(vmName)
                throw error
            }
            record.runtime = vm.runtime
            record.recordedState = vm.currentState
            try records.save(record)
            print(vmName)
        } catch {
            throw VMSupport.fail(error)
        }
    }
}
