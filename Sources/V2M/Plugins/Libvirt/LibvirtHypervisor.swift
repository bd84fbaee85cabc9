import Foundation
import Logging

/// The `libvirt` plug-in: a real libvirtd (`qemu:///system`) driven through libvirt's C API (the `CLibvirt`
/// system-library target over Debian's libvirt-dev) — transient domains from generated XML
/// (`virDomainCreateXML`), `virDomainSuspend`/`Resume`/`Shutdown`/`Destroy`, the guest agent over the
/// domain's virtio-serial channel, and live migration to another libvirtd (`virDomainMigrate3`; on one
/// host that is a second daemon with its own host UUID, see `scripts/libvirtd-peer.sh`).
public struct LibvirtHypervisor: Hypervisor {
    public let kind = HypervisorKind.libvirt
    public var accelerator: Accelerator
    public var uri: String
    public var bootTimeout: Duration
    public var locator: ExecutableLocator
    public var logger: Logger
    /// Domains end with the process that started them (libvirt's autodestroy: a job's VMs must not outlive
    /// its agent, even one killed with SIGKILL); such domains cannot be migrated.
    public var autoDestroy = false
    /// Start VMs through snapshots (a job's tool agent sets it; see `LibvirtSnapshotPlatform`); nil: every VM
    /// boots cold.
    public var snapshotStart: SnapshotStart?

    /// `uri` defaults to `$LIBVIRT_DEFAULT_URI`, else `qemu:///system`.
    public init(accelerator: Accelerator = .tcg, uri: String? = nil, bootTimeout: Duration = .seconds(120),
                locator: ExecutableLocator = ExecutableLocator(), logger: Logger = Logger(label: "vhpc.v2m.libvirt")) {
        self.accelerator = accelerator
        self.uri = uri ?? ProcessInfo.processInfo.environment["LIBVIRT_DEFAULT_URI"] ?? "qemu:///system"
        self.bootTimeout = bootTimeout
        self.locator = locator
        self.logger = logger
    }

    public func availability() async -> HypervisorAvailability {
        do {
            let connection = try await LibvirtConnection.open(uri)
            return HypervisorAvailability(usable: true, detail: "\(uri) (libvirt \(connection.libraryVersion())), domain type \(accelerator == .kvm ? "kvm" : "qemu")")
        } catch {
            return HypervisorAvailability(usable: false, detail: "libvirtd not running or unreachable at \(uri) (start it with `libvirtd -d`): \(error)")
        }
    }

    public func makeBackend(for profile: VMProfile) throws(V2MError) -> any VMBackend {
        LibvirtBackend(profile: profile, accelerator: accelerator, uri: uri, bootTimeout: bootTimeout,
                       locator: locator, logger: logger, autoDestroy: autoDestroy, snapshotStart: snapshotStart)
    }

    /// The domain's real state as its libvirtd reports it (the one the record names after a migration); a
    /// domain libvirtd no longer has (destroyed behind vhpc's back, e.g. `virsh destroy`) is not running.
    public func observedState(of record: VMRecord) async throws -> VMState {
        let connection = try await LibvirtConnection.open(record.runtime?.libvirtURI ?? uri)
        let observed = try await connection.observedState(record.runtime?.domain ?? LibvirtDomainXML.domainName(for: record.profile.name))
        return observed ?? VMRecord.reconcile(recorded: record.recordedState, processAlive: false)
    }

    /// A handle for a domain started earlier (by another process) from its record; it talks to the libvirtd
    /// the record names (where a migration moved the domain), else to `uri`.
    public func adopt(_ record: VMRecord) throws(V2MError) -> VirtualMachine {
        let backend = LibvirtBackend(profile: record.profile, accelerator: record.accelerator, uri: uri,
                                     bootTimeout: bootTimeout, locator: locator, logger: logger)
        backend.adopt(runtime: record.runtime)
        return VirtualMachine(profile: record.profile, kind: kind, backend: backend, state: record.effectiveState)
    }
}
