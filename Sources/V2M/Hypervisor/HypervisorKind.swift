/// The plug-ins V2M knows, as named on the command line (`--hypervisor`).
public enum HypervisorKind: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    case qemu, libvirt, xen, palacios, simulated

    public var description: String { rawValue }

    /// Real plug-ins in the order `auto` tries them.
    public static let autoOrder: [HypervisorKind] = [.qemu, .libvirt, .xen, .palacios]
}

/// `--hypervisor auto|qemu|libvirt|xen|palacios|simulated`.
public enum HypervisorChoice: Sendable, Equatable, CustomStringConvertible {
    case auto
    case specific(HypervisorKind)

    public init?(argument: String) {
        if argument == "auto" { self = .auto } else if let kind = HypervisorKind(rawValue: argument) {
            self = .specific(kind)
        } else { return nil }
    }

    public var description: String {
        switch self {
        case .auto: return "auto"
        case .specific(let kind): return kind.rawValue
        }
    }
}
