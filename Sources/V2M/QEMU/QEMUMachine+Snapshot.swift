import Foundation

extension QEMUMachine {
    /// Saves the running guest to `path` (QEMU's migration stream through `exec:cat`, at full speed). The
    /// guest stops at the end (QEMU's `postmigrate`); kill the machine afterwards. Throws when QEMU reports
    /// the migration failed (e.g. the disk filled up: `cat` fails, QEMU sees the pipe break).
    func saveState(to path: String, timeout: Duration = .seconds(120)) async throws {
        let qmp = try await QMPClient.connect(socketPath: paths.qmpSocket, vmName: profile.name)
        do {
            try await Self.migrate(qmp, to: "exec:cat > " + shellQuote(path), ignoreShared: profile.memoryFile?.shared == true,
                                   saving: path, vm: profile.name, timeout: timeout)
        } catch {
            await qmp.close()
            throw error
        }
        await qmp.close()
    }

    /// Runs an outgoing migration to `uri` at full speed over `qmp` and waits until QEMU reports it complete
    /// (the guest is then stopped, `postmigrate`); throws when it failed or took over `timeout`.
    static func migrate(_ qmp: QMPClient, to uri: String, ignoreShared: Bool, saving path: String, vm: String,
                        timeout: Duration) async throws {
        try await qmp.execute("migrate-set-parameters", arguments: ["max-bandwidth": .number(Double(1 << 40))])
        if ignoreShared { try await ignoreSharedMemory(qmp) }
        try await qmp.execute("migrate", arguments: ["uri": .string(uri)])
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while true {
            let info = try await qmp.execute("query-migrate")
            let status = info["status"]?.stringValue ?? "none"
            if status == "completed" { return }
            if status == "failed" || status == "cancelled" {
                throw V2MError.migrationFailed(vm: vm, reason: "saving to \(path): \(info["error-desc"]?.stringValue ?? status)")
            }
            if clock.now > deadline {
                _ = try? await qmp.execute("migrate_cancel")
                throw V2MError.migrationFailed(vm: vm, reason: "saving to \(path) took over \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Starts a deferred incoming migration (`-incoming defer`) from `uri`, RAM left to its mapped file.
    static func startIncoming(_ uri: String, qmpSocket: String, vm: String) async throws {
        let qmp = try await QMPClient.connect(socketPath: qmpSocket, vmName: vm)
        do {
            try await ignoreSharedMemory(qmp)
            try await qmp.execute("migrate-incoming", arguments: ["uri": .string(uri)])
        } catch {
            await qmp.close()
            throw error
        }
        await qmp.close()
    }

    /// Shared (file-backed) RAM is not copied into the stream: the file holds it.
    static func ignoreSharedMemory(_ qmp: QMPClient) async throws {
        try await qmp.execute("migrate-set-capabilities", arguments: ["capabilities": .array([
            .object(["capability": .string("x-ignore-shared"), "state": .bool(true)])])])
    }
}
