import Control
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One real OpenSSH server (`/usr/sbin/sshd -D -e -f CONFIG`), optionally inside a network namespace.
/// Stopped by pid: its descendants (connection handlers and the remote processes they run) first, then the
/// listener itself.
struct SSHDServer: Sendable {
    let pid: pid_t
    let address: String
    let port: Int
    let configPath: String
    let logPath: String
    /// `VHPC_TEST_SSHD=…`, set by the server (`SetEnv`) in every session it runs: finds remote processes even
    /// after they were orphaned and re-parented away from the server.
    let marker: String

    private static func environmentMarker(keys: SSHDKeys, name: String) -> String {
        "VHPC_TEST_SSHD=\((keys.directory as NSString).lastPathComponent)-\(name)"
    }

    /// Writes an sshd_config next to `keys` and starts sshd listening on `address:port`; returns once it
    /// accepts TCP connections. `namespace` runs it under `ip netns exec` (which execs sshd: same pid).
    static func start(keys: SSHDKeys, name: String, address: String, port: Int, namespace: String? = nil) async throws -> SSHDServer {
        // sshd's privilege-separation directory.
        try FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true)
        let config = keys.directory + "/sshd_config-\(name)"
        let log = keys.directory + "/sshd-\(name).log"
        let text = """
            ListenAddress \(address):\(port)
            HostKey \(keys.hostKey)
            PidFile \(keys.directory)/sshd-\(name).pid
            AuthorizedKeysFile \(keys.authorizedKeys)
            PermitRootLogin prohibit-password
            PubkeyAuthentication yes
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            StrictModes no
            UsePAM no
            PrintMotd no
            UseDNS no
            MaxStartups 64:30:128
            LogLevel INFO
            SetEnv \(environmentMarker(keys: keys, name: name))

            """
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        var argv = ["/usr/sbin/sshd", "-D", "-e", "-f", config]
        if let namespace { argv = ["/usr/sbin/ip", "netns", "exec", namespace] + argv }
        let pid = try await SSHDShell.start(argv, logPath: log)
        let server = SSHDServer(
            pid: pid, address: address, port: port, configPath: config, logPath: log,
            marker: environmentMarker(keys: keys, name: name))
        let deadline = ContinuousClock.now + .seconds(10)
        while !(await server.acceptsConnections(namespace: namespace)) {
            if !SSHDShell.isAlive(pid) || ContinuousClock.now >= deadline {
                let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
                await server.stop()
                throw SSHDShell.CommandFailed(command: argv, status: -1, output: "sshd did not come up: \(output)")
            }
            try await Task.sleep(for: .milliseconds(25))
        }
        return server
    }

    private func acceptsConnections(namespace: String?) async -> Bool {
        // Namespaced servers are reachable from here through their veth, so a plain connect works for both.
        SSHDShell.canConnect(host: address, port: port)
    }

    /// Live processes the server started: its descendants (connection handlers, remote commands) and any
    /// process carrying its session marker (remote processes orphaned by a closed connection).
    func descendants() -> [pid_t] {
        Array(Set(SSHDShell.descendants(of: pid) + SSHDShell.processes(withEnvironment: marker))).sorted()
    }

    /// Kills every process from ``descendants()`` and then the listener, each by pid, and reaps the listener.
    func stop() async {
        for process in descendants() { kill(process, SIGKILL) }
        await SSHDShell.killTree(pid)
    }
}
