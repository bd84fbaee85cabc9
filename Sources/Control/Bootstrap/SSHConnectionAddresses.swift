#if canImport(Glibc)
import Glibc
#endif

/// Where an agent started over ssh is reachable, read from the `SSH_CONNECTION` sshd sets
/// (`client-ip client-port server-ip server-port`).
///
/// Host names in a hostlist are often ssh_config aliases that only `ssh` can resolve; the addresses the
/// launching connection actually used are reachable by construction: the agent advertises `server` (this
/// host's address on the interface its parent came in on) and dials its parent at `client`.
public struct SSHConnectionAddresses: Sendable, Equatable {
    /// The launching host's address as seen from this host.
    public var client: String
    /// This host's address the launching host reached.
    public var server: String

    /// Parses the variable's value; nil when absent or malformed.
    public init?(_ value: String?) {
        let fields = value?.split(separator: " ").map(String.init) ?? []
        guard fields.count == 4, !fields[0].isEmpty, !fields[2].isEmpty else { return nil }
        client = fields[0]
        server = fields[2]
    }

    /// The addresses of the current process's ssh session, if it runs in one.
    public static func current() -> SSHConnectionAddresses? {
        guard let value = getenv("SSH_CONNECTION") else { return nil }
        return SSHConnectionAddresses(String(cString: value))
    }
}
