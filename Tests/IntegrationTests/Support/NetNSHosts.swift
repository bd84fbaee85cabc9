import Foundation
import Synchronization
import Testing

/// Separate "hosts" on this machine: each a network namespace `vhpc-test-<pid>-<i>` joined to the root
/// namespace by a veth pair on its own 10.x.y.0/24 (root side .1, namespace side .2), running its own sshd
/// on port 22. An ssh_config maps aliases `node01`, `node02`… to the namespaces' addresses, so hostlists
/// such as `node[01-03]` resolve. Everything is removed by pid, link name and namespace name.
struct NetNSHosts: Sendable {
    /// One namespace host.
    struct Host: Sendable {
        let alias: String
        let namespace: String
        let rootLink: String
        let address: String
        let server: SSHDServer
    }

    let keys: SSHDKeys
    let hosts: [Host]
    /// The client config with one `Host nodeNN` block per namespace.
    let clientConfig: String

    /// Creation counter for unique namespace names and subnets within this test process.
    private static let counter = Atomic<Int>(0)

    /// Runs `body` with `count` namespace hosts (aliases `node01`…); tears all of them down afterwards, also
    /// when setup or `body` fails.
    static func withHosts<R: Sendable>(count: Int, _ body: (NetNSHosts) async throws -> R) async throws -> R {
        let keys = try await SSHDKeys.generate()
        let forwarding = IPForwarding.enable()
        defer { forwarding.restore() }
        var created: [Host] = []
        var partial: (namespace: String?, link: String?) = (nil, nil)
        do {
            let pid = Int(getpid())
            let second = 100 + pid % 150
            for index in 1...count {
                let serial = counter.add(1, ordering: .relaxed).newValue
                let namespace = "vhpc-test-\(pid)-\(serial)"
                let link = "vht\(pid % 100_000)h\(serial)"
                let peer = "vht\(pid % 100_000)n\(serial)"
                let third = try await freeSubnet(second: second, from: serial % 256)
                let prefix = "10.\(second).\(third)"
                try await SSHDShell.run(["/usr/sbin/ip", "netns", "add", namespace])
                partial = (namespace, nil)
                try await SSHDShell.run(["/usr/sbin/ip", "link", "add", link, "type", "veth", "peer", "name", peer, "netns", namespace])
                partial = (namespace, link)
                try await SSHDShell.run(["/usr/sbin/ip", "addr", "add", "\(prefix).1/24", "dev", link])
                try await SSHDShell.run(["/usr/sbin/ip", "link", "set", link, "up"])
                try await SSHDShell.run(["/usr/sbin/ip", "-n", namespace, "addr", "add", "\(prefix).2/24", "dev", peer])
                try await SSHDShell.run(["/usr/sbin/ip", "-n", namespace, "link", "set", peer, "up"])
                try await SSHDShell.run(["/usr/sbin/ip", "-n", namespace, "link", "set", "lo", "up"])
                // Hosts reach each other through the root namespace (which forwards while hosts exist).
                try await SSHDShell.run(["/usr/sbin/ip", "-n", namespace, "route", "add", "default", "via", "\(prefix).1"])
                let server = try await SSHDServer.start(
                    keys: keys, name: namespace, address: "\(prefix).2", port: 22, namespace: namespace)
                created.append(Host(
                    alias: String(format: "node%02d", index), namespace: namespace, rootLink: link,
                    address: "\(prefix).2", server: server))
                partial = (nil, nil)
            }
            let config = keys.directory + "/ssh_config"
            try SSHDFixture.writeClientConfig(to: config, keys: keys, hosts: created.map { ($0.alias, $0.address, 22) })
            let fixture = NetNSHosts(keys: keys, hosts: created, clientConfig: config)
            let result = try await body(fixture)
            for host in created { await expectNoLeftovers(host) }
            let clients = SSHDShell.sshClients(containing: keys.directory)
            #expect(clients.isEmpty, "ssh clients still running: \(clients)")
            await tearDown(created, partial: partial, keys: keys)
            return result
        } catch {
            await tearDown(created, partial: partial, keys: keys)
            throw error
        }
    }

    private static func expectNoLeftovers(_ host: Host) async {
        let deadline = ContinuousClock.now + .seconds(5)
        var remaining = host.server.descendants()
        while !remaining.isEmpty && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
            remaining = host.server.descendants()
        }
        #expect(remaining.isEmpty, "processes left under sshd \(host.server.pid) in \(host.namespace): \(remaining)")
    }

    /// Stops each sshd (by pid), deletes each veth (by name) and namespace (by name); then checks none is left.
    private static func tearDown(_ hosts: [Host], partial: (namespace: String?, link: String?), keys: SSHDKeys) async {
        var links = hosts.map(\.rootLink)
        var namespaces = hosts.map(\.namespace)
        if let link = partial.link { links.append(link) }
        if let namespace = partial.namespace { namespaces.append(namespace) }
        for host in hosts { await host.server.stop() }
        for link in links { _ = try? await SSHDShell.runStatus(["/usr/sbin/ip", "link", "del", link]) }
        for namespace in namespaces { _ = try? await SSHDShell.runStatus(["/usr/sbin/ip", "netns", "del", namespace]) }
        keys.remove()
        for host in hosts { #expect(!SSHDShell.isAlive(host.server.pid), "sshd \(host.server.pid) still running") }
        let listed = (try? await SSHDShell.run(["/usr/sbin/ip", "netns", "list"])) ?? ""
        let listedNames = Set(listed.split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) })
        for namespace in namespaces { #expect(!listedNames.contains(namespace), "namespace \(namespace) still exists") }
    }

    /// A third octet `y` such that no address or route on this machine is in 10.`second`.`y`.0/24.
    private static func freeSubnet(second: Int, from start: Int) async throws -> Int {
        let addresses = try await SSHDShell.run(["/usr/sbin/ip", "-o", "-4", "addr", "show"])
        let routes = try await SSHDShell.run(["/usr/sbin/ip", "-4", "route", "show", "table", "all"])
        for offset in 0..<256 {
            let third = (start + offset) % 256
            let needle = "10.\(second).\(third)."
            if !addresses.contains(needle) && !routes.contains(needle) { return third }
        }
        throw SSHDShell.CommandFailed(command: ["freeSubnet"], status: -1, output: "no free 10.\(second).y.0/24")
    }
}

/// IPv4 forwarding in the root namespace, switched on for the namespace hosts and restored afterwards.
struct IPForwarding {
    static let path = "/proc/sys/net/ipv4/ip_forward"
    let previous: String?

    static func enable() -> IPForwarding {
        let previous = try? String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        if previous != "1" { try? "1\n".write(toFile: path, atomically: false, encoding: .utf8) }
        return IPForwarding(previous: previous)
    }

    func restore() {
        if let previous, previous != "1" { try? "\(previous)\n".write(toFile: Self.path, atomically: false, encoding: .utf8) }
    }
}
