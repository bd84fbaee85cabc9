import Foundation
import Testing

/// A real sshd on 127.0.0.1 (random free port, fresh keys in a temp dir) plus an ssh_config for clients:
/// `Host vhpc-loopback` reaches it as root with the authorized key, host keys unchecked, quiet.
struct SSHDFixture: Sendable {
    /// The ssh_config alias of the loopback server.
    static let loopbackAlias = "vhpc-loopback"

    let keys: SSHDKeys
    let server: SSHDServer
    /// The client config (`ssh -F` / `$VHPC_SSH_CONFIG`).
    let clientConfig: String

    /// Runs `body` with a fresh loopback sshd; stops the server and deletes its files afterwards, also when
    /// `body` throws. Records an issue if processes started through the server are still alive when `body`
    /// returns.
    static func withLoopbackSSHD<R: Sendable>(_ body: (SSHDFixture) async throws -> R) async throws -> R {
        let keys = try await SSHDKeys.generate()
        let server: SSHDServer
        do {
            server = try await startOnFreePort(keys: keys)
        } catch {
            keys.remove()
            throw error
        }
        let config = keys.directory + "/ssh_config"
        let fixture = SSHDFixture(keys: keys, server: server, clientConfig: config)
        do {
            try writeClientConfig(
                to: config, keys: keys, hosts: [(loopbackAlias, "127.0.0.1", server.port)])
            let result = try await body(fixture)
            await fixture.expectNoLeftovers()
            await fixture.tearDown()
            return result
        } catch {
            await fixture.tearDown()
            throw error
        }
    }

    /// Fails the test if a process started through the server outlives the test's own cleanup (allows the
    /// server a moment to notice closed connections).
    func expectNoLeftovers(sourceLocation: SourceLocation = #_sourceLocation) async {
        let deadline = ContinuousClock.now + .seconds(5)
        var remaining = server.descendants()
        while !remaining.isEmpty && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
            remaining = server.descendants()
        }
        #expect(remaining.isEmpty, "processes left under sshd \(server.pid): \(remaining)", sourceLocation: sourceLocation)
        let clients = SSHDShell.sshClients(containing: keys.directory)
        #expect(clients.isEmpty, "ssh clients still running: \(clients)", sourceLocation: sourceLocation)
    }

    /// Stops the server (by pid) and removes the directory; checks the listener is really gone.
    func tearDown() async {
        await server.stop()
        #expect(!SSHDShell.isAlive(server.pid), "sshd \(server.pid) still running")
        keys.remove()
    }

    private static func startOnFreePort(keys: SSHDKeys) async throws -> SSHDServer {
        var lastError: (any Error)?
        for attempt in 0..<3 {
            do {
                return try await SSHDServer.start(keys: keys, name: "loopback\(attempt)", address: "127.0.0.1", port: try SSHDShell.freePort())
            } catch {
                lastError = error  // the port may have been taken in between: try another
            }
        }
        throw lastError!
    }

    /// Writes an ssh_config with one `Host` block per (alias, address, port) and shared client settings.
    static func writeClientConfig(to path: String, keys: SSHDKeys, hosts: [(alias: String, address: String, port: Int)]) throws {
        var text = ""
        for host in hosts {
            text += "Host \(host.alias)\n    HostName \(host.address)\n    Port \(host.port)\n\n"
        }
        text += """
            Host *
                User root
                IdentityFile \(keys.clientKey)
                IdentitiesOnly yes
                StrictHostKeyChecking no
                UserKnownHostsFile /dev/null
                GlobalKnownHostsFile /dev/null
                LogLevel ERROR

            """
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }
}
