import Logging
import VSE

/// Resolves `--hypervisor auto|qemu|libvirt|xen|palacios|simulated` to a plug-in, saying why.
///
/// `auto` takes the first usable real plug-in in `HypervisorKind.autoOrder` (qemu, libvirt, xen, palacios)
/// and never the simulated one. The QEMU-based plug-ins get the accelerator from `AcceleratorProbe`.
public struct HypervisorSelector: Sendable {
    public var state: StateDirectory
    public var accelerator: AcceleratorChoice
    /// For the KVM probe (auto accelerator).
    public var probeImage: ImageEntry?
    public var detached: Bool
    public var bootTimeout: Duration
    public var locator: ExecutableLocator
    /// libvirt connection URI (default: `$LIBVIRT_DEFAULT_URI`, else `qemu:///system`).
    public var libvirtURI: String?
    public var logger: Logger
    /// VMs end with this process however it ends (a job's tool agent): QEMU children always do; libvirt
    /// domains are started with autodestroy.
    public var endWithProcess = false

    public init(state: StateDirectory, accelerator: AcceleratorChoice = .auto, probeImage: ImageEntry? = nil,
                detached: Bool = false, bootTimeout: Duration = .seconds(60),
                locator: ExecutableLocator = ExecutableLocator(), libvirtURI: String? = nil,
                logger: Logger = Logger(label: "vhpc.v2m")) {
        self.state = state
        self.accelerator = accelerator
        self.probeImage = probeImage
        self.detached = detached
        self.bootTimeout = bootTimeout
        self.locator = locator
        self.libvirtURI = libvirtURI
        self.logger = logger
    }

    /// The selected plug-in and a one-line explanation ("qemu (auto: first usable; tcg: …)").
    public func select(_ choice: HypervisorChoice) async throws -> (hypervisor: any Hypervisor, explanation: String) {
        switch choice {
        case .specific(let kind):
            let hypervisor = await make(kind)
            let availability = await hypervisor.availability()
            guard availability.usable else { throw V2MError.hypervisorUnavailable(kind, reason: availability.detail) }
            return (hypervisor, "\(kind) (\(availability.detail))")
        case .auto:
            var rejected: [String] = []
            for kind in HypervisorKind.autoOrder {
                let hypervisor = await make(kind)
                let availability = await hypervisor.availability()
                if availability.usable {
                    return (hypervisor, "\(kind) (auto: first usable of \(HypervisorKind.autoOrder.map(\.rawValue).joined(separator: ", ")); \(availability.detail))")
                }
                rejected.append("\(kind): \(availability.detail)")
            }
            throw V2MError.hypervisorUnavailable(.qemu, reason: "no usable hypervisor (\(rejected.joined(separator: "; ")))")
        }
    }

    /// The accelerator verdict for QEMU-based plug-ins.
    public func acceleratorVerdict() async -> AcceleratorProbe.Verdict {
        await AcceleratorProbe(state: state, locator: locator).resolve(accelerator, image: probeImage, logger: logger)
    }

    func make(_ kind: HypervisorKind) async -> any Hypervisor {
        switch kind {
        case .qemu:
            let verdict = await acceleratorVerdict()
            return QEMUHypervisor(accelerator: verdict.accelerator, detached: detached, bootTimeout: bootTimeout,
                                  locator: locator, logger: logger)
        case .libvirt:
            let verdict = await acceleratorVerdict()
            var libvirt = LibvirtHypervisor(accelerator: verdict.accelerator, uri: libvirtURI, bootTimeout: bootTimeout,
                                            locator: locator, logger: logger)
            libvirt.autoDestroy = endWithProcess
            return libvirt
        case .xen: return XenHypervisor(locator: locator)
        case .palacios: return PalaciosHypervisor()
        case .simulated: return SimulatedHypervisor()
        }
    }
}
