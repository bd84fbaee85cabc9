/// A V2M plug-in: turns the one lifecycle API into one hypervisor's commands.
///
/// `define` returns a `VirtualMachine` in state `defined`; the handle validates every operation against
/// the lifecycle state machine and drives the plug-in's `VMBackend`.
public protocol Hypervisor: Sendable {
    var kind: HypervisorKind { get }
    /// Whether the plug-in can run VMs on this host, and if not, why.
    func availability() async -> HypervisorAvailability
    /// A backend for one VM. Cheap: nothing starts until `VirtualMachine.start()`.
    func makeBackend(for profile: VMProfile) throws(V2MError) -> any VMBackend
}

extension Hypervisor {
    /// A VM handle for `profile` in state `defined`.
    public func define(_ profile: VMProfile) throws(V2MError) -> VirtualMachine {
        try profile.validate()
        return VirtualMachine(profile: profile, kind: kind, backend: try makeBackend(for: profile))
    }
}

/// Whether a plug-in can run here.
public struct HypervisorAvailability: Sendable, Equatable {
    public var usable: Bool
    /// Why not (or what it will use, e.g. "qemu-system-x86_64 7.2, TCG").
    public var detail: String

    public init(usable: Bool, detail: String) {
        self.usable = usable
        self.detail = detail
    }
}
