import CGuestSupport
import Glibc
import GuestProtocol

/// Notices, when a new host says hello, that the guest's fw_cfg credentials changed: the guest was
/// restored from a snapshot into another VM. It then takes on that VM's identity (fresh CRNG state, the
/// host's clock, host name, MAC and address) before it answers, and the template's secret is never
/// answered again. See `GuestLinkEndpoint.onNewHost`.
final class CredentialsWatch {
    private var loaded: String

    init(loaded: String) {
        self.loaded = loaded
    }

    /// The new credentials after applying their identity, or nil when they did not change.
    func check() -> GuestCredentials? {
        guard let text = readSmallFile(GuestCredentials.guestPath), text != loaded else { return nil }
        let credentials: GuestCredentials
        do {
            credentials = try GuestCredentials(fileContents: text)
        } catch {
            writeStderr("vhpc-guest: \(GuestCredentials.guestPath): \(error)\n")
            return nil
        }
        loaded = text
        if let identity = credentials.identity { IdentityApplier.apply(identity) }
        return credentials
    }
}

/// Makes this guest the VM a ``GuestIdentity`` names.
enum IdentityApplier {
    static func apply(_ identity: GuestIdentity) {
        guard identity.isSafe else {
            writeStderr("vhpc-guest: refusing an identity with unexpected characters\n")
            return
        }
        // First the CRNG: the handshake's nonce comes next, and every restored guest starts from the same state.
        let seed = hexBytes(identity.seed)
        if !seed.isEmpty, vhpc_reseed_crng(seed, Int32(seed.count)) != 0 {
            writeStderr("vhpc-guest: reseeding the CRNG failed: \(String(cString: strerror(errno)))\n")
        }
        if identity.unixMilliseconds > 0 { _ = vhpc_set_realtime_ms(identity.unixMilliseconds) }
        if !identity.hostname.isEmpty {
            _ = sethostname(identity.hostname, identity.hostname.utf8.count)
            writeFile("/etc/hostname", identity.hostname + "\n")
        }
        // eth0: down, the VM's MAC (the virtio-net device keeps the template's until told), its address, up.
        let parts = identity.address.split(separator: "/")
        let address = parts.first.map(String.init) ?? ""
        let prefix = parts.count > 1 ? Int32(parts[1]) ?? 32 : 32
        if !identity.mac.isEmpty || !address.isEmpty, access("/sys/class/net/eth0", F_OK) == 0,
           vhpc_configure_interface("eth0", identity.mac, address, prefix) != 0 {
            writeStderr("vhpc-guest: configuring eth0 (\(identity.mac), \(identity.address)) failed: \(String(cString: strerror(errno)))\n")
        }
        if !identity.hosts.isEmpty {
            let lines = identity.hosts.split(separator: ",").compactMap { pair -> String? in
                let fields = pair.split(separator: "=", maxSplits: 1)
                return fields.count == 2 ? "\(fields[1]) \(fields[0])" : nil
            }
            writeFile("/etc/hosts", (["127.0.0.1 localhost"] + lines).joined(separator: "\n") + "\n")
        }
    }

    private static func writeFile(_ path: String, _ text: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }
        var bytes = Array(text.utf8)
        _ = write(fd, &bytes, bytes.count)
        close(fd)
    }

    static func hexBytes(_ hex: String) -> [UInt8] {
        let digits = Array(hex.utf8)
        guard digits.count % 2 == 0 else { return [] }
        var bytes: [UInt8] = []
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let high = nibble(digits[index]), let low = nibble(digits[index + 1]) else { return [] }
            bytes.append(high << 4 | low)
        }
        return bytes
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        default: return nil
        }
    }
}
