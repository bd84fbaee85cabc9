import Foundation

extension QEMUMachine {
    /// Saves the running guest to `path` (QEMU's migration stream through `exec:cat`, at full speed). The
    /// guest stops at the end (QEMU's `postmigrate`); kill the machine afterwards. Throws when QEMU reports
    /// the migration failed (e.g. the disk filled up: `cat` fails, QEMU sees the pipe break).
    func saveState(to path: String, timeout: Duration = .seconds(120)) async throws {
        let qmp = try await QMPClient.connect(socketPath: paths.qmpSocket, vmName: profile.name)
        do {
            try await qmp.execute("migrate-set-parameters", arguments: ["max-bandwidth": .number(Double(1 << 40))])
            try await qmp.execute("migrate", arguments: ["uri": .string("exec:cat > " + shellQuote(path))])
            let clock = ContinuousClock()
            let deadline = clock.now.advanced(by: timeout)
            while true {
                let info = try await qmp.execute("query-migrate")
                let status = info["status"]?.stringValue ?? "none"
                if status == "completed" { break }
                if status == "failed" || status == "cancelled" {
                    throw V2MError.migrationFailed(vm: profile.name, reason: "saving to \(path): \(info["error-desc"]?.stringValue ?? status)")
                }
                if clock.now > deadline {
                    _ = try? await qmp.execute("migrate_cancel")
                    throw V2MError.migrationFailed(vm: profile.name, reason: "saving to \(path) took over \(timeout)")
                }
                try await Task.sleep(for: .milliseconds(10))
            }
        } catch {
            await qmp.close()
            throw error
        }
        await qmp.close()
    }
}
