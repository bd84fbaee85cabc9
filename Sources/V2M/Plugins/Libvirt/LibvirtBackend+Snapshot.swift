import Foundation
import GuestProtocol
import Logging
import VSE

/// Snapshot start under the `libvirt` plug-in. libvirt's own save and restore (`virDomainSaveFlags`,
/// `virDomainRestoreFlags`) cannot serve it: a restore must keep the saved domain's name and UUID ("Target
/// domain name 'vhpc-r1' does not match source 'vhpc-tmpl'", libvirt 9.0), so one saved guest could run once
/// per daemon at a time, and a restored domain cannot be autodestroyed with its job. So every VM is a
/// transient domain of its own (`virDomainCreateXML`, its own name, UUID, XML and fw_cfg credentials,
/// autodestroy), started with `-incoming defer` and a QMP monitor of vhpc's own; the template's QEMU streams
/// its state to vhpc over a unix socket and restored QEMUs read it back the same way (libvirt's seccomp
/// sandbox forbids QEMU to spawn the `cat` of the `qemu` plug-in). Guest RAM travels in the stream.
struct LibvirtSnapshotPlatform: SnapshotPlatform {
    let backend: LibvirtBackend
    let onExit: @Sendable (String) -> Void

    func key(for profile: VMProfile) async throws -> SnapshotKey {
        let qemu = try await SnapshotKey.qemuVersion(backend.locator)
        let libvirt = try await backend.connection().libraryVersion()
        let shape = "q35 libvirt accel=\(backend.accelerator.rawValue) vcpus=\(profile.vcpus) memory=\(profile.memoryMiB)M "
            + "nics=\(profile.nics.count) disk=\(profile.disk == nil ? "no" : "yes") port=\(profile.guestChannel.portName)"
        return SnapshotKey(imageID: profile.imageID, shape: shape, hypervisor: "\(qemu); libvirt \(libvirt)")
    }

    func bootCold(_ profile: VMProfile) async throws -> GuestInfo? {
        try await backend.boot(profile, onExit: onExit)
    }

    func saveTemplate(_ template: VMProfile, into staging: String, check: @Sendable (GuestInfo) throws -> Void) async throws {
        let machine = LibvirtBackend(profile: template, accelerator: backend.accelerator, uri: backend.uri, bootTimeout: .seconds(300),
                                     locator: backend.locator, logger: backend.logger, autoDestroy: true)
        try await machine.saveTemplate(into: staging, check: check)
    }

    func restore(_ profile: VMProfile, from entry: SnapshotStore.Entry, timeout: Duration) async throws -> GuestInfo? {
        try await backend.boot(profile, restoreFrom: entry.statePath, timeout: timeout, onExit: onExit)
    }
}

extension LibvirtBackend {
    /// Boots this (template) domain with vhpc's monitor, lets `check` judge its guest agent, saves the ready
    /// guest to `staging/state` (and its disk overlay beside it), and ends the domain.
    func saveTemplate(into staging: String, check: @Sendable (GuestInfo) throws -> Void) async throws {
        do {
            guard let info = try await boot(profile, withMonitor: true, onExit: { _ in }) else {
                throw V2MError.guestChannel(vm: profile.name, reason: "no ready message from the template's guest agent")
            }
            try check(info)
            // The guest agent sees its host go before it is saved: a restored guest starts with no session.
            if let guest = state.withLock({ $0.guest }) { await guest.close() }
            let receiver = try await MigrationStream.receive(at: streamSocket, into: staging + "/state")
            do {
                let qmp = try await QMPClient.connect(socketPath: monitorSocket, vmName: profile.name)
                do {
                    try await QEMUMachine.migrate(qmp, to: "unix:" + streamSocket, ignoreShared: false, saving: staging + "/state",
                                                  vm: profile.name, timeout: .seconds(120))
                } catch {
                    await qmp.close()
                    throw error
                }
                await qmp.close()
                _ = try await receiver.finished()
            } catch is CancellationError {
                receiver.close()
                throw CancellationError()
            } catch {
                // A failed write (a full disk) reaches QEMU only as a broken pipe: name the cause instead.
                do {
                    _ = try await receiver.finished(timeout: .seconds(5))
                } catch V2MError.migrationFailed(_, let reason) {
                    throw V2MError.migrationFailed(vm: profile.name, reason: reason)
                } catch {}
                throw error
            }
            try SnapshotBoot.keepDisk(of: profile, in: staging)
        } catch {
            await kill()
            await cleanup()
            throw error
        }
        await kill()
        await cleanup()
    }

    /// Loads a snapshot's state into the just-created (`-incoming defer`) domain through vhpc's monitor and
    /// waits until QEMU runs it; throws when QEMU refuses the stream (it then exits).
    func load(_ statePath: String) async throws {
        let qmp = try await QMPClient.connect(socketPath: monitorSocket, vmName: profile.name)
        do {
            try await qmp.execute("migrate-incoming", arguments: ["uri": .string("unix:" + streamSocket)])
            _ = try await MigrationStream.send(statePath, to: streamSocket)
            let clock = ContinuousClock()
            let deadline = clock.now.advanced(by: .seconds(30))
            while true {
                let status = try await qmp.status()
                if status == "running" { break }
                // libvirt resumed the domain before the state arrived, or did not: QEMU holds it paused then.
                if status == "paused" || status == "prelaunch" {
                    try await qmp.execute("cont")
                    break
                }
                guard status == "inmigrate", clock.now < deadline else {
                    throw V2MError.migrationFailed(vm: profile.name, reason: "restoring \(statePath): QEMU is \(status)")
                }
                try await Task.sleep(for: .milliseconds(10))
            }
        } catch {
            await qmp.close()
            if case V2MError.migrationFailed(let vm, let reason) = error {
                throw V2MError.migrationFailed(vm: profile.name, reason: vm == profile.name ? reason : "restoring \(statePath): \(reason)")
            }
            throw V2MError.migrationFailed(vm: profile.name, reason: "restoring \(statePath): \(error)")
        }
        await qmp.close()
    }
}
