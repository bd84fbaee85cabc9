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
    @Option(help: "Virtual CPUs (default: the image's).") var vcpus: Int?
    @Option(help: "Memory, e.g. 512M (default: the image's).") var memory: String?
    @Option(help: "VM name (default: <image>-<random>).") var name: String?
    @Option(help: "Accelerator: auto (probe KVM, else TCG), kvm or tcg.") var accel: AcceleratorChoice = .auto
    @Option(help: "Seconds to wait for the guest agent.") var timeout: Double = 120
    @Flag(name: .shortAndLong, help: "Log what happens.") var verbose = false

    func validate() throws {
        if let memory, SizeParser.parseBytes(memory) == nil { throw ValidationError("--memory '\(memory)' is not a size like 512M or 2G") }
        if let vcpus, vcpus < 1 { throw ValidationError("--vcpus must be at least 1") }
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
            let memoryBytes = memory.flatMap(SizeParser.parseBytes)
            let hostMemory = ProcessInfo.processInfo.physicalMemory
            if let memoryBytes, memoryBytes > hostMemory {
                throw V2MError.invalidProfile("--memory \(memory!) is more than this host has (\(hostMemory >> 20) MiB)")
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
                                              bootTimeout: .milliseconds(Int(timeout * 1000)), logger: logger)
            let (plugin, explanation) = try await selector.select(hypervisor)
            CLIErrors.printError("vhpc: hypervisor \(explanation)")
            let profile = VMProfile(image: entry, name: vmName, vcpus: vcpus, memoryBytes: memoryBytes,
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
