import GuestProtocol
import VSE

/// What ``SnapshotBoot`` needs from a plug-in: the key of a VM's machine shape, a cold boot, a template boot
/// that saves the ready guest into a staging directory, and a restore. The `qemu` plug-in's is
/// ``QEMUSnapshotPlatform``; the `libvirt` plug-in's runs its domains.
public protocol SnapshotPlatform: Sendable {
    /// What a started VM is to the caller (a ``QEMUMachine``, a libvirt domain's guest info…).
    associatedtype Started: Sendable

    /// The key of VMs shaped like `profile` (image, machine shape, hypervisor version).
    func key(for profile: VMProfile) async throws -> SnapshotKey

    /// Boots `profile` without a snapshot.
    func bootCold(_ profile: VMProfile) async throws -> Started

    /// Boots `template`, waits for its guest agent, lets `check` judge it, saves the ready guest into
    /// `staging` (`state`, and `ram` when the plug-in keeps RAM apart), keeps its disk overlay there with
    /// ``SnapshotBoot/keepDisk(of:in:)`` while the guest is stopped, and ends the template.
    func saveTemplate(_ template: VMProfile, into staging: String, check: @Sendable (GuestInfo) throws -> Void) async throws

    /// Starts `profile` from `entry` (its disk, if any, already backed by the entry's overlay) and waits for
    /// the guest's `ready` at most `timeout`.
    func restore(_ profile: VMProfile, from entry: SnapshotStore.Entry, timeout: Duration) async throws -> Started
}
