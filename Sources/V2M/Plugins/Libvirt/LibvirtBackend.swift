import Foundation
import GuestProtocol
import Logging
import Synchronization

/// One VM as a transient libvirt domain, driven through libvirt's C API (`LibvirtConnection`). A live
/// migration (`LibvirtBackend+Migration.swift`) moves the domain to another libvirtd; the backend then
/// talks to that daemon, the new QEMU process and its guest socket.
final class LibvirtBackend: VMBackend, Sendable {
    /// Where the domain runs now: the libvirtd holding it, its QEMU process and that process's own paths.
    struct Placement: Sendable, Equatable {
        var uri: String
        var guestSocket: String
        var consoleLog: String
        var pid: Int32?
    }

    struct State {
        var placement: Placement
        var guest: GuestChannel?
        var onExit: (@Sendable (String) -> Void)?
        var generation = 0
        /// The connection to `placement.uri`, opened on first use.
        var connection: LibvirtConnection?
        /// True while a migration runs: the source QEMU's end is then expected, not a crash.
        var migrating = false
    }

    let profile: VMProfile
    let accelerator: Accelerator
    let bootTimeout: Duration
    let locator: ExecutableLocator
    let logger: Logger
    /// The domain ends with this process (a job's VMs); see `LibvirtHypervisor.autoDestroy`.
    let autoDestroy: Bool
    /// Start through snapshots (a job's tool agent sets it); nil: every VM boots cold.
    let snapshotStart: SnapshotStart?
    let state: Mutex<State>

    init(profile: VMProfile, accelerator: Accelerator, uri: String, bootTimeout: Duration, locator: ExecutableLocator,
         logger: Logger, autoDestroy: Bool = false, snapshotStart: SnapshotStart? = nil) {
        self.autoDestroy = autoDestroy
        self.snapshotStart = snapshotStart
        self.profile = profile
        self.accelerator = accelerator
        self.bootTimeout = bootTimeout
        self.locator = locator
        self.logger = logger
        self.state = Mutex(State(placement: Placement(uri: uri, guestSocket: profile.guestChannel.socketPath,
                                                      consoleLog: profile.runtimeDirectory + "/console.log")))
    }

    var domain: String { LibvirtDomainXML.domainName(for: profile.name) }
    var defaultConsoleLog: String { profile.runtimeDirectory + "/console.log" }
    var xmlPath: String { profile.runtimeDirectory + "/domain.xml" }
    /// vhpc's own QMP monitor of a domain that saves or restores a snapshot, and its migration stream's socket.
    var monitorSocket: String { profile.runtimeDirectory + "/qmp.sock" }
    var streamSocket: String { profile.runtimeDirectory + "/mig.sock" }
    var placement: Placement { state.withLock { $0.placement } }
    /// URI of the libvirtd running the domain (the hypervisor's until a migration moves it).
    var uri: String { placement.uri }
    var processID: Int32? { placement.pid }

    var runtime: VMRuntimeInfo? {
        let placement = placement
        return placement.pid.map {
            VMRuntimeInfo(pid: $0, guestSocket: placement.guestSocket, consoleLog: placement.consoleLog, domain: domain,
                          libvirtURI: placement.uri)
        }
    }

    /// Takes over a domain started (and perhaps migrated) by another process, from its record.
    func adopt(runtime: VMRuntimeInfo?) {
        guard let runtime else { return }
        state.withLock { s in
            s.placement.pid = runtime.pid
            if let uri = runtime.libvirtURI { s.placement.uri = uri }
            if let socket = runtime.guestSocket { s.placement.guestSocket = socket }
            if let console = runtime.consoleLog { s.placement.consoleLog = console }
        }
    }

    /// The connection to the libvirtd running the domain, opened on first use.
    func connection() async throws -> LibvirtConnection {
        let (existing, uri) = state.withLock { ($0.connection, $0.placement.uri) }
        if let existing, existing.uri == uri { return existing }
        let connection = try await LibvirtConnection.open(uri)
        state.withLock { s in if s.placement.uri == uri { s.connection = connection } }
        return connection
    }

    func start(onExit: @escaping @Sendable (String) -> Void) async throws -> GuestInfo? {
        guard let snapshotStart else { return try await boot(profile, onExit: onExit) }
        // The owner wrote the VM's credentials (with its identity); SnapshotBoot rewrites them with a fresh seed
        // and the clock, and restores or boots.
        let credentials = try? GuestCredentialsFile.read(profile.guestChannel.credentialsPath, vmName: profile.name)
        let (info, restored) = try await snapshotStart.boot.boot(
            on: LibvirtSnapshotPlatform(backend: self, onExit: onExit), image: snapshotStart.image, profile: profile,
            credentials: credentials, identity: credentials?.identity ?? GuestIdentity(hostname: ""), logger: logger)
        logger.debug("VM started", metadata: ["vm": "\(profile.name)", "from": "\(restored ? "snapshot" : "cold boot")"])
        return info
    }

    /// Creates the domain from `booting` (this VM's profile; a restore's disk is backed by the snapshot's) and
    /// waits for the guest's `ready`. With `withMonitor`, the domain gets vhpc's own QMP monitor; `restoreFrom`
    /// (a snapshot's state file) starts it as a migration target and loads that state through the monitor.
    func boot(_ booting: VMProfile, withMonitor: Bool = false, restoreFrom: String? = nil, timeout: Duration? = nil,
              onExit: @escaping @Sendable (String) -> Void) async throws -> GuestInfo? {
        let bootTimeout = timeout ?? self.bootTimeout
        // A new boot uses the profile's paths, on the daemon the domain last ran on.
        let consoleLog = defaultConsoleLog
        state.withLock { s in
            s.placement = Placement(uri: s.placement.uri, guestSocket: profile.guestChannel.socketPath, consoleLog: consoleLog)
        }
        try? FileManager.default.createDirectory(atPath: profile.runtimeDirectory, withIntermediateDirectories: true)
        for stale in [profile.guestChannel.socketPath, consoleLog, monitorSocket, streamSocket] { try? FileManager.default.removeItem(atPath: stale) }
        try GuestCredentialsFile.ensure(profile.guestChannel.credentialsPath, vmName: profile.name)
        if let disk = booting.disk { try await OverlayDisk.create(disk, locator: locator) }
        let emulator = try locator.require("qemu-system-x86_64")
        let xml = LibvirtDomainXML(profile: booting, accelerator: accelerator, emulator: emulator, consoleLogPath: consoleLog,
                                   monitorSocket: withMonitor || restoreFrom != nil ? monitorSocket : nil, incoming: restoreFrom != nil)
        do {
            try xml.render().write(toFile: xmlPath, atomically: true, encoding: .utf8)
        } catch {
            throw V2MError.invalidProfile("cannot write \(xmlPath): \(error)")
        }
        let uuid = try await connection().createDomain(xml: xml.render(), autoDestroy: autoDestroy)
        let pid = LibvirtQEMUProcess.find(uuid: uuid, consoleLog: consoleLog)
        let generation = state.withLock { s in
            s.placement.pid = pid
            s.onExit = onExit
            s.generation += 1
            return s.generation
        }
        do {
            if let restoreFrom { try await load(restoreFrom) }
            let guest = try await withDeadline(bootTimeout, onTimeout: { [profile, consoleLog, bootTimeout] in
                .bootTimeout(vm: profile.name, seconds: bootTimeout.seconds, console: QEMUProcess.tail(of: consoleLog, lines: 5))
            }) { [self] in
                // Under load the first connection is sometimes reset while QEMU is still setting up the
                // chardev; reconnect for as long as the domain exists (the deadline bounds it).
                while true {
                    let guest = try await GuestChannel.connect(socketPath: profile.guestChannel.socketPath, credentialsPath: profile.guestChannel.credentialsPath, vmName: profile.name,
                                                               timeout: bootTimeout, logger: logger)
                    do {
                        _ = try await guest.waitReady(timeout: bootTimeout)
                        return guest
                    } catch V2MError.guestChannel(let vm, let reason) {
                        await guest.close()
                        guard await domainExists() else {
                            throw V2MError.exitedDuringBoot(vm: vm, status: "domain \(domain) ended (\(reason))",
                                                            console: QEMUProcess.tail(of: consoleLog, lines: 5))
                        }
                        logger.debug("guest channel reset during boot; reconnecting", metadata: ["vm": "\(vm)"])
                        try await Task.sleep(for: .milliseconds(100))
                    }
                }
            }
            state.withLock { $0.guest = guest }
            if let pid { monitor(pid: pid, generation: generation) }
            return guest.lastReady
        } catch {
            await kill()
            await cleanup()
            throw error
        }
    }

    /// Watches the domain's QEMU process; reports its end unless a newer start or a migration retired it.
    func monitor(pid: Int32, generation: Int) {
        Task.detached { [self] in
            while QEMUProcess.processExists(pid) {
                try? await Task.sleep(for: .milliseconds(50))
            }
            let handler = state.withLock { s -> (@Sendable (String) -> Void)? in
                guard s.generation == generation, !s.migrating else { return nil }
                defer { s.onExit = nil }
                return s.onExit
            }
            handler?("QEMU process \(pid) of domain \(domain) ended")
        }
    }

    func pause() async throws { try await connection().suspend(domain) }
    func resume() async throws { try await connection().resume(domain) }

    func guest() async throws -> GuestChannel {
        if let guest = state.withLock({ $0.guest }), !guest.isClosed { return guest }
        let guest = try await GuestChannel.connect(socketPath: placement.guestSocket, credentialsPath: GuestChannelEndpoint(socketPath: placement.guestSocket).credentialsPath, vmName: profile.name,
                                                   timeout: .seconds(5), logger: logger)
        state.withLock { $0.guest = guest }
        return guest
    }

    func stop(timeout: Duration) async throws -> Bool {
        do {
            try await guest().requestShutdown()
        } catch {
            try? await connection().shutdown(domain)
        }
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while clock.now < deadline {
            if await !domainExists() { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return false
    }

    /// True while libvirt still lists the (transient) domain — it disappears only after libvirtd has
    /// processed QEMU's exit, so a restart under the same name must wait for this.
    func domainExists() async -> Bool {
        if let pid = processID, QEMUProcess.processExists(pid) { return true }
        guard let connection = try? await connection() else { return false }
        return await connection.domainExists(domain)
    }

    func kill() async {
        try? await connection().destroy(domain)
        for _ in 0..<200 {
            if await !domainExists() { break }
            try? await Task.sleep(for: .milliseconds(50))
        }
    }

    func guestStatus() async throws -> GuestStatus { try await guest().status() }

    func observedRunState() async -> VMState? {
        guard let connection = try? await connection() else { return nil }
        return try? await connection.observedState(domain)
    }

    func exec(_ command: GuestCommand,
              onOutput: @escaping @Sendable (GuestMessage.OutputStream, [UInt8]) -> Void) async throws -> Int32 {
        try await guest().run(command, onOutput: onOutput)
    }

    func cleanup() async {
        let (guest, placement) = state.withLock { s -> (GuestChannel?, Placement) in
            defer { s.guest = nil; s.placement.pid = nil; s.onExit = nil }
            return (s.guest, s.placement)
        }
        await guest?.close()
        if let disk = profile.disk { OverlayDisk.remove(disk) }
        for file in [placement.guestSocket, placement.consoleLog, profile.guestChannel.socketPath, defaultConsoleLog, xmlPath,
                     monitorSocket, streamSocket] {
            try? FileManager.default.removeItem(atPath: file)
        }
        if (try? FileManager.default.contentsOfDirectory(atPath: profile.runtimeDirectory))?.isEmpty == true {
            try? FileManager.default.removeItem(atPath: profile.runtimeDirectory)
        }
    }
}
