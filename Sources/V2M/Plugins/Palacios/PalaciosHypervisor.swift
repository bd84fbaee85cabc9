import Foundation

/// The `palacios` plug-in: generates the guest XML and the `v3_*` command lines. Palacios (a Linux kernel
/// module exposing /dev/v3vee) is not on this host, so the plug-in reports itself unavailable and `start`
/// only writes the generated files. `PalaciosConfig` is the part verified here (golden files).
public struct PalaciosHypervisor: Hypervisor {
    public let kind = HypervisorKind.palacios
    public var controlDevice: String

    public init(controlDevice: String = "/dev/v3vee") {
        self.controlDevice = controlDevice
    }

    public func availability() async -> HypervisorAvailability {
        if FileManager.default.fileExists(atPath: controlDevice) {
            return HypervisorAvailability(usable: false, detail: "\(controlDevice) present, but the palacios plug-in only generates configs in this build")
        }
        return HypervisorAvailability(usable: false, detail: "\(controlDevice) missing: Palacios module not loaded (generated, not run here)")
    }

    public func makeBackend(for profile: VMProfile) throws(V2MError) -> any VMBackend {
        GeneratedOnlyBackend(kind: kind, profile: profile) { directory in
            let config = PalaciosConfig(profile: profile)
            try config.render().write(toFile: directory + "/palacios.xml", atomically: true, encoding: .utf8)
            try config.commands().script.write(toFile: directory + "/v3-commands.sh", atomically: true, encoding: .utf8)
        }
    }
}
