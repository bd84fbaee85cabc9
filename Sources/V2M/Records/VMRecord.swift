import Foundation

/// What the state directory remembers about a VM started by `vhpc vm start`, so a later shell can find
/// and control it. The recorded state is the last one a vhpc process saw; `effectiveState` checks that the
/// hypervisor process still exists (an entry whose process is gone is never `running`).
public struct VMRecord: Sendable, Equatable, Codable {
    public var name: String
    public var hypervisor: HypervisorKind
    public var accelerator: Accelerator
    public var profile: VMProfile
    public var runtime: VMRuntimeInfo?
    public var recordedState: VMState
    public var startedAt: Date
    public var updatedAt: Date
    /// The `vhpc run --vse` job whose task runs in this VM, and the task's rank (nil for `vhpc vm start`).
    public var job: String?
    public var rank: Int?

    public init(name: String, hypervisor: HypervisorKind, accelerator: Accelerator, profile: VMProfile,
                runtime: VMRuntimeInfo?, recordedState: VMState, startedAt: Date = Date(), updatedAt: Date = Date()) {
        self.name = name
        self.hypervisor = hypervisor
        self.accelerator = accelerator
        self.profile = profile
        self.runtime = runtime
        self.recordedState = recordedState
        self.startedAt = startedAt
        self.updatedAt = updatedAt
    }

    /// True if the recorded hypervisor process still exists.
    public var processAlive: Bool {
        guard let pid = runtime?.pid else { return false }
        return QEMUProcess.processExists(pid)
    }

    /// The recorded state, corrected by reality: an active state whose process is gone becomes `stopped`
    /// (if a stop was under way) or `crashed`.
    public var effectiveState: VMState {
        Self.reconcile(recorded: recordedState, processAlive: hypervisor == .libvirt ? recordedState.isActive : processAlive)
    }

    /// Pure reconciliation rule (unit-tested).
    public static func reconcile(recorded: VMState, processAlive: Bool) -> VMState {
        guard recorded.isActive, !processAlive else { return recorded }
        return recorded == .stopping ? .stopped : .crashed
    }
}
