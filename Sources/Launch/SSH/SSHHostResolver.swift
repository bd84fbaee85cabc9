import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Resolves hosts the way the ssh client does, and finds the local address that reaches them.
///
/// A hostlist may name ssh_config aliases (`Host node01` / `HostName 10.1.2.2`) that DNS does not know:
/// `ssh -G` prints the configuration ssh would use, including the real `hostname`. The front-end uses the
/// local address the kernel would route towards the first host as the address agents dial it at.
public enum SSHHostResolver {
    /// The `hostname` ssh would connect to for `alias` (nil if `ssh -G` fails).
    public static func hostname(of alias: String, options: SSHOptions = SSHOptions(),
                                environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        var arguments = ["-G"]
        if let config = options.effectiveConfigFile(environment: environment) { arguments += ["-F", config] }
        return CommandOutput.stdout(of: options.sshExecutable, arguments + ["--", alias]).flatMap(parseHostname)
    }

    /// The `hostname` line of `ssh -G` output.
    public static func parseHostname(_ output: String) -> String? {
        for line in output.split(separator: "\n") where line.hasPrefix("hostname ") {
            return String(line.dropFirst("hostname ".count))
        }
        return nil
    }

    /// This machine's IPv4 address on the route towards `host` (a name or an address), without sending
    /// anything: a connected UDP socket's local address. Nil if `host` does not resolve or is unroutable.
    public static func localAddress(towards host: String) -> String? {
        var hints = addrinfo()
        hints.ai_family = AF_INET
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, "9", &hints, &result) == 0, let info = result else { return nil }
        defer { freeaddrinfo(result) }
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        guard connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 else { return nil }
        var local = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { return nil }
        var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
        guard inet_ntop(AF_INET, &local.sin_addr, &text, socklen_t(text.count)) != nil else { return nil }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
