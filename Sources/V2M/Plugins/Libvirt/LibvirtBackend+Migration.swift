import Foundation
import Logging

extension LibvirtBackend {
    /// Live migration to the libvirtd at `target` (its URI, e.g. `qemu+ssh://HOST/system`, or
    /// `qemu+unix:///system?socket=DIR/sock/libvirt-sock` for a second daemon on this host started by
    /// `scripts/libvirtd-peer.sh start DIR`). QEMU streams the VM over TCP on loopback; the destination
    /// QEMU gets its own guest socket and console log so both processes coexist during the move; the
    /// guest keeps running; afterwards the source QEMU is gone, this handle talks to the destination
    /// daemon and the guest channel is reconnected.
    func migrate(to target: String?) async throws {
        guard let target, !target.isEmpty else {
            throw V2MError.migrationFailed(vm: profile.name, reason: "libvirt moves a domain to another libvirtd: "
                + "name the destination daemon with --to URI (e.g. qemu+ssh://HOST/system; on this host a second daemon "
                + "started by `scripts/libvirtd-peer.sh start DIR` is qemu+unix:///system?socket=DIR/sock/libvirt-sock)")
        }
        let from = placement
        guard target != from.uri else {
            throw V2MError.migrationFailed(vm: profile.name,
                                           reason: "\(target) is the libvirtd already running the domain; name another daemon")
        }
        let source = try await connection()
        let destination: LibvirtConnection
        do {
            destination = try await LibvirtConnection.open(target)
        } catch {
            throw V2MError.migrationFailed(vm: profile.name, reason: "cannot reach the destination libvirtd: \(error)")
        }
        let to = nextPlacement(uri: target)
        for stale in [to.guestSocket, to.consoleLog] { try? FileManager.default.removeItem(atPath: stale) }
        let xml = try LibvirtMigrationXML.retarget(try await source.migratableXML(domain),
                                                   moving: [(from.guestSocket, to.guestSocket), (from.consoleLog, to.consoleLog)])
        let migrationURI = "tcp://127.0.0.1:\(try QEMUBackend.freeLoopbackPort())"
        state.withLock { $0.migrating = true }
        let started = ContinuousClock.now
        do {
            // A disk is the same overlay file for both QEMUs on this host: the source flushes and releases
            // it before the destination takes it over, so libvirt's "not shared storage" refusal (which is
            // about two hosts' page caches) does not apply.
            try await source.migrate(domain, to: destination, migrationURI: migrationURI, listenAddress: "127.0.0.1",
                                     destinationXML: xml, unsafe: profile.disk != nil)
        } catch {
            abandonMigration(from: from, to: to)
            throw V2MError.migrationFailed(vm: profile.name, reason: Self.explain(error))
        }
        let elapsed = ContinuousClock.now - started
        try await takeOver(from: from, to: to, on: destination)
        logger.info("VM migrated", metadata: ["vm": "\(profile.name)", "to": "\(target)", "via": "\(migrationURI)",
                                              "pid": "\(placement.pid.map(String.init) ?? "?")", "seconds": "\(elapsed.seconds)"])
    }

    /// After libvirt completed the move: point this handle at the destination, retire the source's files,
    /// watch the new QEMU, reconnect the guest channel.
    private func takeOver(from: Placement, to: Placement, on destination: LibvirtConnection) async throws {
        var moved = to
        moved.pid = LibvirtQEMUProcess.find(uuid: (try? await destination.domainUUID(domain)) ?? "", consoleLog: to.consoleLog)
        let (generation, oldGuest) = state.withLock { s in
            defer { s.guest = nil }
            s.generation += 1
            s.migrating = false
            s.placement = moved
            s.connection = destination
            return (s.generation, s.guest)
        }
        await oldGuest?.close()
        if let old = from.pid {
            // libvirt ends the source QEMU before virDomainMigrate3 returns; make sure of it.
            for _ in 0..<100 where QEMUProcess.processExists(old) { try? await Task.sleep(for: .milliseconds(50)) }
        }
        for file in [from.guestSocket, from.consoleLog] { try? FileManager.default.removeItem(atPath: file) }
        if let pid = moved.pid {
            monitor(pid: pid, generation: generation)
        } else {
            logger.warning("migrated QEMU process not found; its end will not be reported", metadata: ["vm": "\(profile.name)"])
        }
        // The guest channel reconnects: `hello` → `ready` from the same, still running agent.
        let guest = try await GuestChannel.connect(socketPath: moved.guestSocket, credentialsPath: GuestChannelEndpoint(socketPath: moved.guestSocket).credentialsPath, vmName: profile.name, timeout: .seconds(10),
                                                   logger: logger)
        state.withLock { s in if s.generation == generation { s.guest = guest } }
        if try await !destination.isPaused(domain) {
            _ = try await guest.waitReady(timeout: .seconds(10))
        }
    }

    /// A failed migration leaves the domain where it was (libvirt resumes the source or ends the
    /// destination); if the source QEMU died meanwhile, report it as the VM's end.
    private func abandonMigration(from: Placement, to: Placement) {
        let handler = state.withLock { s -> (@Sendable (String) -> Void)? in
            s.migrating = false
            guard let pid = from.pid, !QEMUProcess.processExists(pid) else { return nil }
            defer { s.onExit = nil }
            return s.onExit
        }
        for file in [to.guestSocket, to.consoleLog] { try? FileManager.default.removeItem(atPath: file) }
        handler?("QEMU process \(from.pid.map(String.init) ?? "?") of domain \(domain) ended during a failed migration")
    }

    /// Per-process paths for the next QEMU of this VM (`m<N>-guest.sock`, `m<N>-console.log`), unused so far.
    private func nextPlacement(uri: String) -> Placement {
        var n = state.withLock { $0.generation } + 1
        while true {
            let candidate = Placement(uri: uri, guestSocket: profile.runtimeDirectory + "/m\(n)-guest.sock",
                                      consoleLog: profile.runtimeDirectory + "/m\(n)-console.log")
            if !FileManager.default.fileExists(atPath: candidate.guestSocket),
               !FileManager.default.fileExists(atPath: candidate.consoleLog) {
                return candidate
            }
            n += 1
        }
    }

    private static func explain(_ error: any Error) -> String {
        let text = "\(error)"
        guard text.contains("same host") else { return text }
        return text + " (libvirt compares host UUIDs: the destination must be another host, or a second libvirtd with its own "
            + "host_uuid such as `scripts/libvirtd-peer.sh start DIR` runs)"
    }
}
