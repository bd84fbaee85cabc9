import Foundation

/// Watches a running guest during a command: the guest agent must answer a status request at least every
/// `limit`. A guest that is silent that long while its QEMU is not paused (`vhpc vm pause` is allowed to stop
/// it) — a stopped QEMU, a killed or hung guest agent — is declared dead: the caller kills the VM and fails
/// the task instead of waiting forever.
struct GuestWatchdog: Sendable {
    /// How long the guest may stay silent while it should be running.
    var limit: Duration = .seconds(20)
    /// How often it is asked.
    var interval: Duration = .seconds(2)

    /// Returns (with a reason) once the guest is judged dead; runs until cancelled otherwise.
    func watch(_ machine: QEMUMachine) async -> String {
        let clock = ContinuousClock()
        var lastAnswer = clock.now
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            if Task.isCancelled { break }
            if (try? await machine.guest.status(timeout: interval)) != nil {
                lastAnswer = clock.now
                continue
            }
            guard clock.now - lastAnswer >= limit else { continue }
            let state = await Self.runState(of: machine)
            if state == "paused" {
                lastAnswer = clock.now  // paused on purpose: not the guest's fault
                continue
            }
            return "its guest agent has not answered for \(Int((clock.now - lastAnswer).seconds)) s (QEMU \(state ?? "not answering either"))"
        }
        return ""
    }

    /// QEMU's run state over QMP ("running", "paused"…), nil when QEMU does not answer (e.g. it is stopped).
    static func runState(of machine: QEMUMachine) async -> String? {
        try? await withDeadline(.seconds(3), onTimeout: { .qmp(vm: machine.profile.name, command: "query-status", reason: "timed out") }) {
            let client = try await QMPClient.connect(socketPath: machine.paths.qmpSocket, vmName: machine.profile.name, timeout: .seconds(2))
            let status = try? await client.status()
            await client.close()
            guard let status else { throw V2MError.qmp(vm: machine.profile.name, command: "query-status", reason: "no answer") }
            return status
        }
    }
}
