import Foundation
import GuestProtocol
import Logging
import VSE

/// Snapshot start under the `qemu` plug-in: the template's RAM is a file-backed memory backend in the entry
/// (`ram`), so QEMU's migration to a file (`exec:cat`, `x-ignore-shared`) writes only device state; restored
/// VMs map `ram` copy-on-write and load the state with `-incoming defer`.
public struct QEMUSnapshotPlatform: SnapshotPlatform {
    public var accelerator: Accelerator
    public var bootTimeout: Duration
    public var locator: ExecutableLocator
    public var logger: Logger

    public init(accelerator: Accelerator, bootTimeout: Duration, locator: ExecutableLocator, logger: Logger) {
        self.accelerator = accelerator
        self.bootTimeout = bootTimeout
        self.locator = locator
        self.logger = logger
    }

    public func key(for profile: VMProfile) async throws -> SnapshotKey {
        try await SnapshotKey(profile: profile, accelerator: accelerator, locator: locator)
    }

    public func bootCold(_ profile: VMProfile) async throws -> QEMUMachine {
        try await QEMUMachine.boot(profile, accelerator: accelerator, timeout: bootTimeout, locator: locator, logger: logger)
    }

    public func saveTemplate(_ template: VMProfile, into staging: String, check: @Sendable (GuestInfo) throws -> Void) async throws {
        var template = template
        // The template's RAM lives in the entry-to-be: saving writes only device state beside it.
        template.memoryFile = VMMemoryFile(path: staging + "/ram", shared: true)
        let machine = try await QEMUMachine.boot(template, accelerator: accelerator, timeout: .seconds(300), locator: locator, logger: logger)
        do {
            try check(machine.info)
            await machine.guest.close()
            try await machine.saveState(to: staging + "/state")
            try SnapshotBoot.keepDisk(of: template, in: staging)
        } catch {
            await machine.kill()
            throw error
        }
        await machine.kill()
    }

    public func restore(_ profile: VMProfile, from entry: SnapshotStore.Entry, timeout: Duration) async throws -> QEMUMachine {
        var restoring = profile
        // The saved RAM, mapped copy-on-write: nothing is copied, the VMs of a node share its clean pages.
        if entry.meta.ramBytes > 0 { restoring.memoryFile = VMMemoryFile(path: entry.ramPath, shared: false) }
        return try await QEMUMachine.boot(restoring, accelerator: accelerator, timeout: timeout, restoreFrom: entry.statePath,
                                          locator: locator, logger: logger)
    }
}
