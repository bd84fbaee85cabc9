import Foundation
import GuestProtocol
import HostProcess

/// The `xen` plug-in: writes the `xl` config and would run `xl` command lines. This host has no Xen, so it
/// reports itself unavailable unless `xl` is on PATH and `xl info` works; operations beyond generation throw
/// `hypervisorUnavailable`. `XenConfig` is the part verified here (golden files).
public struct XenHypervisor: Hypervisor {
    public let kind = HypervisorKind.xen
    public var locator: ExecutableLocator

    public init(locator: ExecutableLocator = ExecutableLocator()) {
        self.locator = locator
    }

    public func availability() async -> HypervisorAvailability {
        guard let xl = locator.find("xl") else {
            return HypervisorAvailability(usable: false, detail: "xl not on PATH (generated, not run here)")
        }
        guard let output = try? await HostCommand(xl, ["info"]).output(check: false), output.status == 0 else {
            return HypervisorAvailability(usable: false, detail: "`xl info` failed: not running under a Xen dom0")
        }
        return HypervisorAvailability(usable: false, detail: "xl present, but the xen plug-in only generates configs in this build")
    }

    public func makeBackend(for profile: VMProfile) throws(V2MError) -> any VMBackend {
        GeneratedOnlyBackend(kind: kind, profile: profile) { directory in
            let config = XenConfig(profile: profile)
            try config.render().write(toFile: directory + "/xl.cfg", atomically: true, encoding: .utf8)
            try config.commands().script.write(toFile: directory + "/xl-commands.sh", atomically: true, encoding: .utf8)
        }
    }
}

/// Backend for plug-ins whose hypervisor is not on this host: `start` writes the generated files into the
/// runtime directory (so they can be inspected or copied to a real host) and then refuses to run them.
struct GeneratedOnlyBackend: VMBackend {
    let kind: HypervisorKind
    let profile: VMProfile
    let generate: @Sendable (String) throws -> Void

    var processID: Int32? { nil }

    func start(onExit: @escaping @Sendable (String) -> Void) async throws -> GuestInfo? {
        try? FileManager.default.createDirectory(atPath: profile.runtimeDirectory, withIntermediateDirectories: true)
        try? generate(profile.runtimeDirectory)
        throw V2MError.hypervisorUnavailable(kind, reason: "generated \(profile.runtimeDirectory); not run here")
    }

    func pause() async throws { throw V2MError.hypervisorUnavailable(kind, reason: "not run here") }
    func resume() async throws { throw V2MError.hypervisorUnavailable(kind, reason: "not run here") }
    func stop(timeout: Duration) async throws -> Bool { throw V2MError.hypervisorUnavailable(kind, reason: "not run here") }
    func kill() async {}
    func migrate(to target: String?) async throws { throw V2MError.hypervisorUnavailable(kind, reason: "not run here") }
    func guestStatus() async throws -> GuestStatus { throw V2MError.hypervisorUnavailable(kind, reason: "not run here") }
    func exec(_ command: GuestCommand,
              onOutput: @escaping @Sendable (GuestMessage.OutputStream, [UInt8]) -> Void) async throws -> Int32 {
        throw V2MError.hypervisorUnavailable(kind, reason: "not run here")
    }
    func cleanup() async {}
}
