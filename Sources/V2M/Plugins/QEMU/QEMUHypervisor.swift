import Foundation
import Logging
import VSE

/// The `qemu` plug-in: QEMU driven directly, lifecycle over QMP (`stop`, `cont`, `query-status`,
/// `system_powerdown`, `quit`, `migrate`, events), the guest agent over virtio-serial.
public struct QEMUHypervisor: Hypervisor {
    public let kind = HypervisorKind.qemu
    public var accelerator: Accelerator
    /// Daemonized QEMU (`-daemonize -pidfile`) that outlives this process (the CLI's `vm start`).
    public var detached: Bool
    public var bootTimeout: Duration
    public var locator: ExecutableLocator
    public var logger: Logger
    /// Start VMs through snapshots (a job's tool agent sets it); nil: every VM boots cold.
    public var snapshotStart: SnapshotStart?

    public init(accelerator: Accelerator = .tcg, detached: Bool = false, bootTimeout: Duration = .seconds(60),
                locator: ExecutableLocator = ExecutableLocator(), logger: Logger = Logger(label: "vhpc.v2m.qemu")) {
        self.accelerator = accelerator
        self.detached = detached
        self.bootTimeout = bootTimeout
        self.locator = locator
        self.logger = logger
    }

    public func availability() async -> HypervisorAvailability {
        guard let qemu = locator.find("qemu-system-x86_64") else {
            return HypervisorAvailability(usable: false, detail: "qemu-system-x86_64 not on PATH (Debian: qemu-system-x86)")
        }
        guard locator.find("qemu-img") != nil else {
            return HypervisorAvailability(usable: false, detail: "qemu-img not on PATH (Debian: qemu-utils)")
        }
        return HypervisorAvailability(usable: true, detail: "\(qemu), \(accelerator)")
    }

    public func makeBackend(for profile: VMProfile) throws(V2MError) -> any VMBackend {
        QEMUBackend(profile: profile, accelerator: accelerator, detached: detached, bootTimeout: bootTimeout,
                    locator: locator, logger: logger, snapshotStart: snapshotStart)
    }

    /// A handle for a VM started earlier (by another process) from its record: QMP and guest channel are
    /// reconnected on demand.
    public func adopt(_ record: VMRecord) throws(V2MError) -> VirtualMachine {
        let backend = QEMUBackend(profile: record.profile, accelerator: record.accelerator, detached: true,
                                  bootTimeout: bootTimeout, locator: locator, logger: logger)
        backend.adopt(record: record)
        return VirtualMachine(profile: record.profile, kind: kind, backend: backend, state: record.effectiveState)
    }
}
