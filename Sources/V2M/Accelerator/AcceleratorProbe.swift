import Foundation
import Logging
import VSE

/// Decides between KVM and TCG by trying: boots the image with `accel=kvm` under a short timeout and
/// keeps KVM only if the guest agent reports ready. Nested KVM here exists but never reaches userspace,
/// so "/dev/kvm is present" proves nothing. The verdict is cached per host boot
/// (`/proc/sys/kernel/random/boot_id`) in `<state>/accelerator.json`.
public struct AcceleratorProbe: Sendable {
    /// The outcome and why.
    public struct Verdict: Sendable, Equatable, Codable {
        public var accelerator: Accelerator
        public var reason: String
        public var bootID: String
        /// True when read from the cache rather than probed now.
        public var cached: Bool

        public init(accelerator: Accelerator, reason: String, bootID: String, cached: Bool) {
            self.accelerator = accelerator
            self.reason = reason
            self.bootID = bootID
            self.cached = cached
        }
    }

    public var state: StateDirectory
    public var timeout: Duration
    public var locator: ExecutableLocator
    public var kvmDevice: String

    public init(state: StateDirectory, timeout: Duration = .seconds(8), locator: ExecutableLocator = ExecutableLocator(),
                kvmDevice: String = "/dev/kvm") {
        self.state = state
        self.timeout = timeout
        self.locator = locator
        self.kvmDevice = kvmDevice
    }

    /// Resolves a choice: `kvm`/`tcg` as given; `auto` from the cache or by probing with `image`.
    public func resolve(_ choice: AcceleratorChoice, image: ImageEntry?, logger: Logger) async -> Verdict {
        let bootID = Self.bootID()
        switch choice {
        case .kvm: return Verdict(accelerator: .kvm, reason: "requested", bootID: bootID, cached: false)
        case .tcg: return Verdict(accelerator: .tcg, reason: "requested", bootID: bootID, cached: false)
        case .auto: break
        }
        guard access(kvmDevice, R_OK | W_OK) == 0 else {
            return Verdict(accelerator: .tcg, reason: "\(kvmDevice) not usable; using TCG", bootID: bootID, cached: false)
        }
        if let cached = readCache(), cached.bootID == bootID {
            return Verdict(accelerator: cached.accelerator, reason: cached.reason, bootID: bootID, cached: true)
        }
        guard let image else {
            return Verdict(accelerator: .tcg, reason: "KVM not probed (no image to boot); using TCG", bootID: bootID, cached: false)
        }
        let verdict = await probe(image: image, bootID: bootID, logger: logger)
        writeCache(verdict)
        return verdict
    }

    private func probe(image: ImageEntry, bootID: String, logger: Logger) async -> Verdict {
        let name = RuntimeDirectory.uniqueName(prefix: "kvmprobe")
        guard let directory = try? RuntimeDirectory.make(name: name, preferredParent: state.tmp) else {
            return Verdict(accelerator: .tcg, reason: "cannot create probe directory; using TCG", bootID: bootID, cached: false)
        }
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let profile = VMProfile(image: image, name: name, vcpus: 1, memoryBytes: 256 << 20, runtimeDirectory: directory)
        logger.info("probing KVM by booting the image with accel=kvm", metadata: ["timeout.seconds": "\(timeout.seconds)"])
        do {
            let machine = try await QEMUMachine.boot(profile, accelerator: .kvm, timeout: timeout, locator: locator, logger: logger)
            let seconds = machine.bootDuration.seconds
            await machine.kill()
            return Verdict(accelerator: .kvm, reason: "KVM boot reached the guest agent in \(V2MError.format(seconds)) s",
                           bootID: bootID, cached: false)
        } catch {
            return Verdict(accelerator: .tcg, reason: "KVM probe failed (\(error)); using TCG", bootID: bootID, cached: false)
        }
    }

    private var cachePath: String { state.root + "/accelerator.json" }

    private func readCache() -> Verdict? {
        guard let data = FileManager.default.contents(atPath: cachePath) else { return nil }
        return try? JSONDecoder().decode(Verdict.self, from: data)
    }

    private func writeCache(_ verdict: Verdict) {
        guard let data = try? JSONEncoder().encode(verdict) else { return }
        try? state.ensure(state.root)
        let temporary = cachePath + ".\(getpid())"
        if FileManager.default.createFile(atPath: temporary, contents: data) {
            _ = rename(temporary, cachePath)
        }
    }

    /// This host boot's id (changes on reboot).
    public static func bootID() -> String {
        (try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "unknown"
    }
}
