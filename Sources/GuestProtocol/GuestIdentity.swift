/// Who a VM is on its job network, handed to a guest restored from a snapshot (the template's kernel
/// command line, which a cold boot reads, is the template's): host name, address, MAC, hosts table, plus
/// fresh randomness and the host's clock, so no two restored guests share the template's CRNG state or its
/// stale time.
///
/// Travels in the guest's credentials file (``GuestCredentials/identity``, fw_cfg), never on a command line.
public struct GuestIdentity: Sendable, Equatable {
    public var hostname: String
    /// `ADDR/PREFIX` on eth0, empty for none.
    public var address: String
    /// eth0's MAC, empty to keep the device's.
    public var mac: String
    /// `name=addr` pairs separated by commas, for /etc/hosts; empty for none.
    public var hosts: String
    /// 32 random bytes (hex) the guest mixes into its kernel CRNG before it reseeds it.
    public var seed: String
    /// The host's clock when the file was written (Unix time, milliseconds).
    public var unixMilliseconds: UInt64

    public init(hostname: String, address: String = "", mac: String = "", hosts: String = "",
                seed: String = "", unixMilliseconds: UInt64 = 0) {
        self.hostname = hostname
        self.address = address
        self.mac = mac
        self.hosts = hosts
        self.seed = seed
        self.unixMilliseconds = unixMilliseconds
    }

    /// Keys in the credentials file.
    static let keys = ["hostname", "address", "mac", "hosts", "seed", "time"]

    var lines: [String] {
        ["hostname=\(hostname)", "address=\(address)", "mac=\(mac)", "hosts=\(hosts)", "seed=\(seed)",
         "time=\(unixMilliseconds)"]
    }

    init?(fields: [Substring: Substring]) {
        guard let hostname = fields["hostname"] else { return nil }
        self.init(hostname: String(hostname), address: String(fields["address"] ?? ""), mac: String(fields["mac"] ?? ""),
                  hosts: String(fields["hosts"] ?? ""), seed: String(fields["seed"] ?? ""),
                  unixMilliseconds: fields["time"].flatMap { UInt64($0) } ?? 0)
    }

    /// Only characters a shell word, a host name, an address and a MAC need: the guest passes these to
    /// busybox `ip` and /etc/hosts.
    public var isSafe: Bool {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:/=,")
        return [hostname, address, mac, hosts, seed].allSatisfy { $0.allSatisfy { allowed.contains($0) } }
    }
}
