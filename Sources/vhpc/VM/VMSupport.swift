import ArgumentParser
import Foundation
import Logging
import V2M
import VSE


/// Shared plumbing for `vhpc vm …`: state directory, records, handles for recorded VMs.
enum VMSupport {
    static var state: StateDirectory { StateDirectory.resolve() }
    static var records: VMRecordStore { VMRecordStore(state: state) }

    /// A handle for a recorded VM, or an error naming why it cannot be controlled.
    static func handle(for record: VMRecord, logger: Logger) throws -> VirtualMachine {
        switch record.hypervisor {
        case .qemu:
            return try QEMUHypervisor(accelerator: record.accelerator, detached: true, logger: logger).adopt(record)
        case .libvirt:
            return try LibvirtHypervisor(accelerator: record.accelerator, logger: logger).adopt(record)
        case .xen, .palacios, .simulated:
            throw V2MError.unsupported(record.hypervisor, operation: "control from a new shell")
        }
    }

    /// Loads a record and refuses if its VM is not in one of `allowed` states.
    static func load(_ name: String) throws -> VMRecord {
        try records.load(name)
    }

    /// The VM's state as its hypervisor sees it now: libvirt is asked for the domain's state; for QEMU the
    /// recorded state is corrected by whether the process still exists.
    static func observedState(_ record: VMRecord) async -> VMState {
        guard record.hypervisor == .libvirt else { return record.effectiveState }
        let plugin = LibvirtHypervisor(accelerator: record.accelerator, logger: Logger(label: "vhpc.vm"))
        return (try? await plugin.observedState(of: record)) ?? record.effectiveState
    }

    /// Saves the handle's current state into the record.
    static func update(_ record: VMRecord, from vm: VirtualMachine) throws {
        var updated = record
        updated.recordedState = vm.currentState
        if let runtime = vm.runtime { updated.runtime = runtime }
        updated.updatedAt = Date()
        try records.save(updated)
    }

    /// Loads the VM's record, runs one lifecycle operation on its handle, saves the new state.
    static func operate(on name: String, _ operation: (VirtualMachine) async throws -> Void) async throws {
        LoggingSetup.bootstrap(verbose: false)
        do {
            let record = try load(name)
            let handle = try handle(for: record, logger: Logger(label: "vhpc.vm"))
            try await operation(handle)
            try update(record, from: handle)
        } catch {
            throw fail(error)
        }
    }

    static func fail(_ error: any Error) -> ExitCode {
        CLIErrors.fail("\(error)")
    }
}
