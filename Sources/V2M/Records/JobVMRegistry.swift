import Foundation
import VSE

/// Records the VMs of a `vhpc run --vse` job in the state directory's VM records (named `<job>-r<rank>`,
/// with job and rank), so `vhpc vm list`, `status`, `pause` and `resume` reach them like VMs of
/// `vhpc vm start`; the record goes when the task's VM does.
public struct JobVMRegistry: Sendable {
    public let records: VMRecordStore
    public let jobID: String

    public init(state: StateDirectory, jobID: String) {
        records = VMRecordStore(state: state)
        self.jobID = jobID
    }

    /// The record name of rank `rank`'s VM.
    public func name(ofRank rank: Int) -> String { "\(jobID)-r\(rank)" }

    /// Records a booted job VM (best effort: a VM that cannot be recorded still runs its task).
    public func register(_ machine: QEMUMachine, rank: Int) {
        var record = VMRecord(
            name: name(ofRank: rank), hypervisor: .qemu, accelerator: machine.accelerator, profile: machine.profile,
            runtime: VMRuntimeInfo(pid: machine.process.pid, qmpSocket: machine.paths.qmpSocket,
                                   guestSocket: machine.profile.guestChannel.socketPath, consoleLog: machine.paths.consoleLog),
            recordedState: .running)
        record.job = jobID
        record.rank = rank
        try? records.save(record)
    }

    /// Records a booted job VM of any plug-in (best effort, as above).
    public func register(_ vm: VirtualMachine, accelerator: Accelerator, rank: Int) {
        var record = VMRecord(name: name(ofRank: rank), hypervisor: vm.kind, accelerator: accelerator, profile: vm.profile,
                              runtime: vm.runtime, recordedState: .running)
        record.job = jobID
        record.rank = rank
        try? records.save(record)
    }

    public func unregister(rank: Int) {
        records.remove(name(ofRank: rank))
    }

    /// Removes every record of the job (after its agents are gone, whatever the way they ended).
    public func removeAll() {
        for record in records.list() where record.job == jobID { records.remove(record.name) }
    }
}
