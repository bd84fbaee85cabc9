import Foundation
import GuestProtocol
import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One VM under the `qemu` plug-in. Tracks the current QEMU process ("instance"; a migration replaces it),
/// its QMP monitor and guest channel (connected lazily, so a VM started by another process can be
/// controlled), and reports the process's end through `onExit`.
final class QEMUBackend: VMBackend, Sendable {
    struct Instance: Sendable {
        var generation: Int
        var process: QEMUProcess
        var paths: QEMUMachine.Paths
        var guestSocket: String
        var qmp: QMPClient?
        var guest: GuestChannel?
    }

    private struct State {
        var instance: Instance?
        var generation = 0
        var onExit: (@Sendable (String) -> Void)?
        var exitExpected = false
        var retiredPaths: [QEMUMachine.Paths] = []
    }

    let profile: VMProfile
    let accelerator: Accelerator
    let detached: Bool
    let bootTimeout: Duration
    let locator: ExecutableLocator
    let logger: Logger
    let snapshotStart: SnapshotStart?
    private let state = Mutex(State())

    init(profile: VMProfile, accelerator: Accelerator, detached: Bool, bootTimeout: Duration,
         locator: ExecutableLocator, logger: Logger, snapshotStart: SnapshotStart? = nil) {
        self.snapshotStart = snapshotStart
        self.profile = profile
        self.accelerator = accelerator
        self.detached = detached
        self.bootTimeout = bootTimeout
        self.locator = locator
        self.logger = logger
    }

    var processID: Int32? { state.withLock { $0.instance?.process.pid } }

    var runtime: VMRuntimeInfo? {
        state.withLock { s in
            s.instance.map { VMRuntimeInfo(pid: $0.process.pid, qmpSocket: $0.paths.qmpSocket, guestSocket: $0.guestSocket,
                                           consoleLog: $0.paths.consoleLog) }
        }
    }

    /// Takes over a VM started by another process (from its record).
    func adopt(record: VMRecord) {
        guard let pid = record.runtime?.pid else { return }
        var paths = QEMUMachine.Paths(runtimeDirectory: profile.runtimeDirectory)
        if let qmp = record.runtime?.qmpSocket { paths.qmpSocket = qmp }
        if let console = record.runtime?.consoleLog { paths.consoleLog = console }
        let instance = Instance(generation: 0, process: QEMUProcess.adopt(pid: pid, stderrPath: paths.stderrLog), paths: paths,
                                guestSocket: record.runtime?.guestSocket ?? profile.guestChannel.socketPath)
        state.withLock { $0.instance = instance }
    }

    // MARK: lifecycle

    func start(onExit: @escaping @Sendable (String) -> Void) async throws -> GuestInfo? {
        let machine: QEMUMachine
        if let snapshotStart, !detached {
            // The owner wrote the VM's credentials (with its identity); SnapshotBoot rewrites them with a fresh
            // seed and the clock, and restores or boots.
            let credentials = try? GuestCredentialsFile.read(profile.guestChannel.credentialsPath, vmName: profile.name)
            let restored: Bool
            (machine, restored) = try await snapshotStart.boot.boot(
                image: snapshotStart.image, profile: profile, credentials: credentials,
                identity: credentials?.identity ?? GuestIdentity(hostname: ""), accelerator: accelerator,
                timeout: bootTimeout, locator: locator, logger: logger)
            logger.debug("VM started", metadata: ["vm": "\(profile.name)", "from": "\(restored ? "snapshot" : "cold boot")"])
        } else {
            machine = try await QEMUMachine.boot(profile, accelerator: accelerator, detached: detached,
                                                 timeout: bootTimeout, locator: locator, logger: logger)
        }
        // QMP answers, then is let go: QEMU serves one monitor client at a time, and `vhpc vm pause` from
        // another process must reach a VM this one runs (a job's); operations reconnect when they need it.
        do {
            let qmp = try await QMPClient.connect(socketPath: machine.paths.qmpSocket, vmName: profile.name)
            await qmp.close()
        } catch {
            await machine.kill()
            throw error
        }
        let generation = state.withLock { s in
            s.generation += 1
            s.onExit = onExit
            s.exitExpected = false
            s.instance = Instance(generation: s.generation, process: machine.process, paths: machine.paths,
                                  guestSocket: profile.guestChannel.socketPath, qmp: nil, guest: machine.guest)
            return s.generation
        }
        monitor(generation: generation, process: machine.process)
        return machine.info
    }

    /// Watches the instance's process; reports its end unless a migration retired it.
    private func monitor(generation: Int, process: QEMUProcess) {
        Task.detached { [self] in
            while process.isRunning {
                try? await Task.sleep(for: .milliseconds(50))
            }
            let handler = state.withLock { s -> (@Sendable (String) -> Void)? in
                guard s.instance?.generation == generation else { return nil }
                defer { s.onExit = nil }
                return s.onExit
            }
            let reason = process.exitDescription
            handler?(reason == "exited" ? "QEMU exited" : "QEMU \(reason)")
        }
    }

    private func currentInstance() throws -> Instance {
        guard let instance = state.withLock({ $0.instance }) else {
            throw V2MError.guestChannel(vm: profile.name, reason: "VM is not running")
        }
        return instance
    }

    /// The QMP client of the current instance, connecting if needed.
    func qmp() async throws -> QMPClient {
        let instance = try currentInstance()
        if let qmp = instance.qmp, !qmp.isClosed { return qmp }
        let client = try await QMPClient.connect(socketPath: instance.paths.qmpSocket, vmName: profile.name, timeout: .seconds(5))
        state.withLock { s in
            if s.instance?.generation == instance.generation { s.instance?.qmp = client }
        }
        return client
    }

    /// The guest channel of the current instance, connecting if needed.
    func guest() async throws -> GuestChannel {
        let instance = try currentInstance()
        if let guest = instance.guest, !guest.isClosed { return guest }
        let channel = try await GuestChannel.connect(socketPath: instance.guestSocket, credentialsPath: GuestChannelEndpoint(socketPath: instance.guestSocket).credentialsPath, vmName: profile.name,
                                                     timeout: .seconds(5), logger: logger)
        state.withLock { s in
            if s.instance?.generation == instance.generation { s.instance?.guest = channel }
        }
        return channel
    }

    func pause() async throws {
        try await qmp().execute("stop")
    }

    func resume() async throws {
        try await qmp().execute("cont")
    }

    /// Over a connection of its own, closed at once (see `start`), unless this backend holds one already.
    func observedRunState() async -> VMState? {
        guard let instance = try? currentInstance() else { return nil }
        let status = try? await withDeadline(.seconds(3), onTimeout: { .qmp(vm: self.profile.name, command: "query-status", reason: "timed out") }) {
            if let qmp = instance.qmp, !qmp.isClosed { return try await qmp.status() }
            let client = try await QMPClient.connect(socketPath: instance.paths.qmpSocket, vmName: self.profile.name, timeout: .seconds(2))
            let status = try? await client.status()
            await client.close()
            guard let status else { throw V2MError.qmp(vm: self.profile.name, command: "query-status", reason: "no answer") }
            return status
        }
        switch status {
        case "running": return .running
        case "paused", "suspended": return .paused
        case nil: return nil
        default: return .stopping
        }
    }

    /// Current QMP run state ("running", "paused", …).
    func queryStatus() async throws -> String {
        try await qmp().status()
    }

    /// Asks the guest to power off and waits at most `timeout` in all (a paused guest cannot power off by
    /// itself: false at once, and the caller kills it).
    func stop(timeout: Duration) async throws -> Bool {
        let instance = try currentInstance()
        state.withLock { $0.exitExpected = true }
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        guard (try? await withDeadline(min(timeout, .seconds(2)), onTimeout: { .guestTimeout(vm: self.profile.name, operation: "query-status") }, {
            try await self.queryStatus()
        })) == "running" else { return false }
        do {
            try await withDeadline(max(.zero, deadline - clock.now), onTimeout: { .guestTimeout(vm: self.profile.name, operation: "shutdown") }) {
                try await self.guest().requestShutdown()
            }
        } catch {
            // No guest channel (agent gone) or no answer: ask ACPI instead.
            _ = try? await qmp().execute("system_powerdown", timeout: .seconds(2))
        }
        return await instance.process.waitForExit(timeout: max(.zero, deadline - clock.now))
    }

    func kill() async {
        guard let instance = state.withLock({ s -> Instance? in
            s.exitExpected = true
            return s.instance
        }) else { return }
        if instance.process.isRunning {
            _ = try? await qmp().execute("quit", timeout: .seconds(2))
            if !(await instance.process.waitForExit(timeout: .seconds(2))) {
                await instance.process.terminate(grace: .seconds(1))
            }
        }
    }

    func guestStatus() async throws -> GuestStatus {
        try await guest().status()
    }

    func exec(_ command: GuestCommand,
              onOutput: @escaping @Sendable (GuestMessage.OutputStream, [UInt8]) -> Void) async throws -> Int32 {
        try await guest().run(command, onOutput: onOutput)
    }

    func cleanup() async {
        let (instance, retired) = state.withLock { s in
            defer {
                s.retiredPaths.removeAll()
                s.instance = nil
                s.onExit = nil
            }
            return (s.instance, s.retiredPaths)
        }
        if let process = instance?.process, process.isRunning { await process.terminate(grace: .seconds(1)) }
        await instance?.guest?.close()
        await instance?.qmp?.close()
        if let instance { QEMUMachine.removeFiles(profile: profile.withGuestSocket(instance.guestSocket), paths: instance.paths) }
        for paths in retired { QEMUMachine.removeInstanceFiles(guestSocket: profile.guestChannel.socketPath, paths: paths) }
        QEMUMachine.removeFiles(profile: profile, paths: QEMUMachine.Paths(runtimeDirectory: profile.runtimeDirectory))
    }

    // MARK: migration

    /// Live migration to a new QEMU process on this host over TCP loopback (`target`: nil or
    /// "tcp:127.0.0.1:PORT"). The new process opens the same overlay; the guest keeps running; the guest
    /// channel reconnects to the new socket; the old process quits.
    func migrate(to target: String?) async throws {
        let old = try currentInstance()
        let port: Int
        if let target {
            guard target.hasPrefix("tcp:127.0.0.1:") || target.hasPrefix("tcp:localhost:"),
                  let p = Int(target.split(separator: ":").last ?? "") else {
                throw V2MError.migrationFailed(vm: profile.name, reason: "only tcp:127.0.0.1:PORT targets on this host are supported (got \(target))")
            }
            port = p
        } else {
            port = try Self.freeLoopbackPort()
        }
        let generation = state.withLock { $0.generation + 1 }
        let tag = "m\(generation)"
        let directory = profile.runtimeDirectory
        var paths = QEMUMachine.Paths(runtimeDirectory: directory)
        paths.qmpSocket = directory + "/\(tag)-qmp.sock"
        paths.consoleLog = directory + "/\(tag)-console.log"
        paths.stderrLog = directory + "/\(tag)-qemu.log"
        paths.pidFile = directory + "/\(tag)-qemu.pid"
        let newProfile = profile.withGuestSocket(directory + "/\(tag)-guest.sock")
        let uri = "tcp:127.0.0.1:\(port)"
        let line = QEMUCommandLine(profile: newProfile, accelerator: accelerator, qmpSocketPath: paths.qmpSocket,
                                   consoleLogPath: paths.consoleLog, daemonizePIDFile: detached ? paths.pidFile : nil,
                                   incomingURI: uri)
        let process = try await QEMUProcess.launch(line, stderrPath: paths.stderrLog, locator: locator, logger: logger)
        do {
            let targetQMP = try await QMPClient.connect(socketPath: paths.qmpSocket, vmName: profile.name)
            let sourceQMP = try await qmp()
            try await sourceQMP.execute("migrate", arguments: ["uri": .string(uri)])
            let clock = ContinuousClock()
            let deadline = clock.now.advanced(by: .seconds(120))
            while true {
                let info = try await sourceQMP.execute("query-migrate")
                let status = info["status"]?.stringValue ?? "none"
                if status == "completed" { break }
                if status == "failed" || status == "cancelled" {
                    throw V2MError.migrationFailed(vm: profile.name, reason: info["error-desc"]?.stringValue ?? status)
                }
                if clock.now > deadline {
                    _ = try? await sourceQMP.execute("migrate_cancel")
                    throw V2MError.migrationFailed(vm: profile.name, reason: "not completed within 120 s (status \(status))")
                }
                try await Task.sleep(for: .milliseconds(20))
            }
            // Wait for the target to take over, then retire the source.
            for _ in 0..<250 {
                let status = try await targetQMP.status()
                if status == "running" || status == "paused" { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            state.withLock { s in
                s.generation = generation
                s.retiredPaths.append(old.paths)
                s.instance = Instance(generation: generation, process: process, paths: paths,
                                      guestSocket: newProfile.guestChannel.socketPath, qmp: targetQMP, guest: nil)
            }
            monitor(generation: generation, process: process)
            _ = try? await old.qmp?.execute("quit", timeout: .seconds(2))
            if !(await old.process.waitForExit(timeout: .seconds(3))) { await old.process.terminate(grace: .seconds(1)) }
            await old.guest?.close()
            await old.qmp?.close()
            QEMUMachine.removeInstanceFiles(guestSocket: old.guestSocket, paths: old.paths)
            // The guest channel reconnects: `hello` → `ready` from the same (still running) agent.
            let guest = try await GuestChannel.connect(socketPath: newProfile.guestChannel.socketPath, credentialsPath: newProfile.guestChannel.credentialsPath, vmName: profile.name,
                                                       timeout: .seconds(10), logger: logger)
            state.withLock { s in if s.instance?.generation == generation { s.instance?.guest = guest } }
            if try await targetQMP.status() == "running" {
                _ = try await guest.waitReady(timeout: .seconds(10))
            }
            logger.info("VM migrated", metadata: ["vm": "\(profile.name)", "uri": "\(uri)", "pid": "\(process.pid)"])
        } catch {
            await process.terminate(grace: .milliseconds(500))
            QEMUMachine.removeInstanceFiles(guestSocket: newProfile.guestChannel.socketPath, paths: paths)
            if let error = error as? V2MError, case .migrationFailed = error { throw error }
            throw V2MError.migrationFailed(vm: profile.name, reason: "\(error)")
        }
    }

    /// A TCP port on 127.0.0.1 that is free right now.
    static func freeLoopbackPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw V2MError.migrationFailed(vm: "", reason: "socket(): errno \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0 else { throw V2MError.migrationFailed(vm: "", reason: "bind(): errno \(errno)") }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

extension VMProfile {
    func withGuestSocket(_ path: String) -> VMProfile {
        var copy = self
        copy.guestChannel.socketPath = path
        return copy
    }

    func withoutDisk() -> VMProfile {
        var copy = self
        copy.disk = nil
        return copy
    }
}
