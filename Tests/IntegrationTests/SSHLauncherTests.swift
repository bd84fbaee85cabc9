import Control
import Foundation
import Launch
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `SSHLauncher` against real OpenSSH servers: one on loopback, and several in network namespaces acting as
/// separate hosts.
@Suite(.serialized, .timeLimit(.minutes(2))) struct SSHLauncherTests {
    private func launcher(config: String, configure: (inout SSHOptions) -> Void = { _ in }) -> SSHLauncher {
        var options = SSHOptions()
        options.configFile = config
        options.standardOutput = .capture
        options.standardError = .capture
        options.connectTimeout = .seconds(5)
        configure(&options)
        return SSHLauncher(options: options)
    }

    /// The client's exit status, waiting at most `limit`; on timeout records an issue, kills the client and
    /// returns -1 (so a hang fails fast and the fixture still cleans up).
    private func exitStatus(of process: any LaunchedProcess, within limit: Duration = .seconds(15)) async -> Int32 {
        let status = await withTaskGroup(of: Int32?.self) { group in
            group.addTask { await process.waitForExit() }
            group.addTask { try? await Task.sleep(for: limit); return nil }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        if let status, status != -1 { return status }
        Issue.record("\(process.host) pid \(process.pid) did not exit within \(limit)")
        process.signal(SIGKILL)
        return -1
    }

    private func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    /// Polls the captured stdout until it holds a full first line; returns it.
    private func firstLine(of process: SSHProcess, timeout: Duration = .seconds(10)) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while true {
            let output = text(process.capturedOutput())
            if let newline = output.firstIndex(of: "\n") { return String(output[..<newline]) }
            if ContinuousClock.now >= deadline || process.hasExited {
                Issue.record("no line from \(process.command) on \(process.host): \(output.debugDescription)")
                throw CancellationError()
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    @Test func echoOutputQuotingEnvironmentAndExitStatus() async throws {
        try await SSHDFixture.withLoopbackSSHD { sshd in
            // The config file comes from $VHPC_SSH_CONFIG here.
            var options = SSHOptions()
            options.standardOutput = .capture
            options.standardError = .capture
            var environment = ProcessInfo.processInfo.environment
            environment[SSHOptions.configEnvironmentVariable] = sshd.clientConfig
            let viaEnvironment = SSHLauncher(options: options, environment: environment)
            #expect(viaEnvironment.name == "ssh")

            let echo = try await viaEnvironment.launchProcess(LaunchRequest(
                host: SSHDFixture.loopbackAlias, executable: "/bin/echo",
                arguments: ["hello", "two  words", "it's", "$HOME", "`id`", "a;b|c&d", ""]))
            #expect(await exitStatus(of: echo) == 0)
            #expect(text(echo.capturedOutput()) == "hello two  words it's $HOME `id` a;b|c&d \n")
            #expect(echo.capturedError().isEmpty)

            let ssh = launcher(config: sshd.clientConfig)
            let env = try await ssh.launchProcess(LaunchRequest(
                host: SSHDFixture.loopbackAlias, executable: "/usr/bin/env",
                arguments: [], environment: ["VHPC_RANK": "3", "VHPC_ODD": "a b'c\"d $x"]))
            #expect(await exitStatus(of: env) == 0)
            let lines = text(env.capturedOutput()).split(separator: "\n").map(String.init)
            #expect(lines.contains("VHPC_RANK=3"))
            #expect(lines.contains("VHPC_ODD=a b'c\"d $x"))

            let failing = try await ssh.launchProcess(LaunchRequest(
                host: SSHDFixture.loopbackAlias, executable: "/bin/sh", arguments: ["-c", "echo oops >&2; exit 7"]))
            #expect(await exitStatus(of: failing) == 7)
            #expect(text(failing.capturedError()) == "oops\n")

            // Through the protocol, as the control layer uses it.
            let any: any Launcher = ssh
            let plain = try await any.launch(LaunchRequest(host: SSHDFixture.loopbackAlias, executable: "/bin/true", arguments: []))
            #expect(await exitStatus(of: plain) == 0)
            #expect(!SSHDShell.isAlive(plain.pid))
        }
    }

    @Test func standardInputPayloadArrivesAndStdinStaysOpen() async throws {
        try await SSHDFixture.withLoopbackSSHD { sshd in
            let ssh = launcher(config: sshd.clientConfig)
            // `head -c 6` exits after the payload: it did not need end-of-file.
            let reader = try await ssh.launchProcess(LaunchRequest(
                host: SSHDFixture.loopbackAlias, executable: "/usr/bin/head", arguments: ["-c", "6"],
                standardInput: Array("secret and more".utf8)))
            #expect(await exitStatus(of: reader) == 0)
            #expect(text(reader.capturedOutput()) == "secret")

            // `cat` echoes the payload and then keeps running: stdin is still open.
            let cat = try await ssh.launchProcess(LaunchRequest(
                host: SSHDFixture.loopbackAlias, executable: "/bin/cat", arguments: [],
                standardInput: Array("config-line\n".utf8)))
            #expect(try await firstLine(of: cat) == "config-line")
            try await Task.sleep(for: .milliseconds(300))
            #expect(!cat.hasExited)
            cat.closeStandardInput()
            #expect(await exitStatus(of: cat) == 0)
        }
    }

    /// The lifetime contract: an agent stand-in that ends (and ends what it started) when its stdin reaches
    /// end-of-file; its child's pid is reported back and checked on the remote side.
    private static let agentStandIn = "sleep 120 & echo $!; cat >/dev/null; kill $!"

    @Test func signalKillsTheClientAndTheRemoteSideFollows() async throws {
        try await SSHDFixture.withLoopbackSSHD { sshd in
            let ssh = launcher(config: sshd.clientConfig)
            let agent = try await ssh.launchProcess(LaunchRequest(
                host: SSHDFixture.loopbackAlias, executable: "/bin/sh", arguments: ["-c", Self.agentStandIn]))
            let remote = try #require(pid_t(try await firstLine(of: agent)))
            #expect(SSHDShell.isAlive(remote))
            #expect(sshd.server.descendants().contains(remote), "the sleeper runs under sshd, not under us")
            #expect(!SSHDShell.descendants(of: agent.pid).contains(remote))

            agent.signal(SIGTERM)
            // OpenSSH catches SIGTERM ("Killed by signal 15.") and exits 255.
            #expect(await exitStatus(of: agent) == 255)
            #expect(!SSHDShell.isAlive(agent.pid))
            #expect(await SSHDShell.waitUntilGone(remote), "remote sleeper \(remote) outlived its ssh client")
            agent.signal(SIGTERM)  // after exit: a no-op, never a recycled pid
        }
    }

    @Test func closingStandardInputEndsTheRemoteAgent() async throws {
        try await SSHDFixture.withLoopbackSSHD { sshd in
            let ssh = launcher(config: sshd.clientConfig)
            let agent = try await ssh.launchProcess(LaunchRequest(
                host: SSHDFixture.loopbackAlias, executable: "/bin/sh", arguments: ["-c", Self.agentStandIn],
                standardInput: Array("{\"job\":\"x\"}\n".utf8)))
            let remote = try #require(pid_t(try await firstLine(of: agent)))
            #expect(SSHDShell.isAlive(remote))
            agent.closeStandardInput()
            #expect(await exitStatus(of: agent) == 0)
            #expect(await SSHDShell.waitUntilGone(remote))
        }
    }

    @Test func launchesOnNetworkNamespaceHostsByAlias() async throws {
        try await NetNSHosts.withHosts(count: 3) { cluster in
            let names = try Hostlist.expand("node[01-03]")
            #expect(names == cluster.hosts.map(\.alias))
            let ssh = launcher(config: cluster.clientConfig)
            let outputs = try await withThrowingTaskGroup(of: (String, Int32, String).self) { group in
                for host in names {
                    group.addTask {
                        let process = try await ssh.launchProcess(LaunchRequest(
                            host: host, executable: "/usr/sbin/ip", arguments: ["-o", "-4", "addr", "show"],
                            environment: ["VHPC_NODE": host]))
                        let status = await exitStatus(of: process)
                        return (host, status, String(decoding: process.capturedOutput(), as: UTF8.self))
                    }
                }
                var collected: [String: (Int32, String)] = [:]
                for try await (host, status, output) in group { collected[host] = (status, output) }
                return collected
            }
            for host in cluster.hosts {
                let (status, output) = try #require(outputs[host.alias])
                #expect(status == 0)
                #expect(output.contains("inet \(host.address)/24"), "\(host.alias): \(output)")
                for other in cluster.hosts where other.alias != host.alias {
                    #expect(!output.contains("inet \(other.address)/"), "\(host.alias) sees \(other.address)")
                }
            }
            // The remote side of a namespace host follows its client too.
            let agent = try await ssh.launchProcess(LaunchRequest(
                host: "node02", executable: "/bin/sh", arguments: ["-c", Self.agentStandIn]))
            let remote = try #require(pid_t(try await firstLine(of: agent)))
            #expect(cluster.hosts[1].server.descendants().contains(remote))
            agent.signal(SIGKILL)
            #expect(await exitStatus(of: agent) == 128 + SIGKILL)
            #expect(await SSHDShell.waitUntilGone(remote))
        }
    }

    @Test func failuresAreLaunchErrorsWithTheReason() async throws {
        try await SSHDFixture.withLoopbackSSHD { sshd in
            let ssh = launcher(config: sshd.clientConfig)

            let unknown = await launchError(ssh, host: "no-such-host.invalid", executable: "/bin/true")
            #expect(unknown?.host == "no-such-host.invalid")
            #expect(unknown?.command == "/bin/true")
            #expect(unknown?.reason.contains("Could not resolve hostname") == true, "\(String(describing: unknown))")

            let closedPort = try SSHDShell.freePort()
            let refusedLauncher = launcher(config: sshd.clientConfig) { $0.port = closedPort }
            let refused = await launchError(refusedLauncher, host: "127.0.0.1", executable: "/bin/true")
            #expect(refused?.reason.contains("Connection refused") == true, "\(String(describing: refused))")
            #expect(refused?.reason.contains("port \(closedPort)") == true)

            // -F /dev/null, -i, -p, -l and -o passthrough, with a key the server does not know.
            let strangerLauncher = launcher(config: "/dev/null") {
                $0.identityFile = sshd.keys.strangerKey
                $0.port = sshd.server.port
                $0.user = "root"
                $0.extraOptions = ["IdentitiesOnly=yes", "StrictHostKeyChecking=no", "UserKnownHostsFile=/dev/null", "LogLevel=ERROR"]
            }
            let denied = await launchError(strangerLauncher, host: "127.0.0.1", executable: "/bin/true")
            #expect(denied?.reason.contains("Permission denied") == true, "\(String(describing: denied))")

            let missing = await launchError(ssh, host: SSHDFixture.loopbackAlias, executable: "/nonexistent/vhpc", arguments: ["agent"])
            #expect(missing?.reason == "vhpc: /nonexistent/vhpc: command not found (exit 127)")
            #expect(missing?.command == "/nonexistent/vhpc agent")
            #expect(missing?.description.contains(SSHDFixture.loopbackAlias) == true)

            let missingRelative = await launchError(ssh, host: SSHDFixture.loopbackAlias, executable: "no-such-command-vhpc")
            #expect(missingRelative?.reason.contains("command not found (exit 127)") == true)

            for error in [unknown, refused, denied, missing, missingRelative] {
                #expect(error?.reason.contains("\n") == false, "one line: \(String(describing: error))")
            }
        }
    }

    @Test func startTimeoutKillsTheClient() async throws {
        // A listener that accepts but never speaks SSH: the launch must give up, and kill its client.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && listen(fd, 4) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        try #require(bound)
        let ssh = launcher(config: "/dev/null") {
            $0.port = Int(UInt16(bigEndian: address.sin_port))
            $0.startTimeout = .seconds(1)
        }
        let clock = ContinuousClock()
        let started = clock.now
        let error = await launchError(ssh, host: "127.0.0.1", executable: "/bin/true")
        #expect(error?.reason.contains("did not start within") == true, "\(String(describing: error))")
        #expect(clock.now - started < .seconds(10))
        #expect(SSHDShell.sshClients(containing: String(UInt16(bigEndian: address.sin_port))).isEmpty)
    }

    private func launchError(
        _ launcher: SSHLauncher, host: String, executable: String, arguments: [String] = []
    ) async -> LaunchError? {
        do {
            let process = try await launcher.launchProcess(LaunchRequest(host: host, executable: executable, arguments: arguments))
            Issue.record("launch of \(executable) on \(host) succeeded unexpectedly")
            process.signal(SIGKILL)
            _ = await process.waitForExit()
            return nil
        } catch {
            return error
        }
    }
}
