import Foundation

/// Watches a running guest during a command: the guest agent must answer a status request at least every
/// `limit`. A guest that is silent that long while its hypervisor does not report it paused (`vhpc vm pause`
/// is allowed to stop it) — a stopped QEMU, a killed or hung guest agent — is declared dead: the caller kills
/// the VM and fails the task instead of waiting forever.
public struct GuestWatchdog: Sendable {
    /// How long the guest may stay silent while it should be running.
    public var limit: Duration = .seconds(20)
    /// How often it is asked.
    public var interval: Duration = .seconds(2)

    public init() {}

    /// Returns (with a reason) once `vm`'s guest is judged dead; runs until cancelled otherwise.
    public func watch(_ vm: VirtualMachine) async -> String {
        await watch(answers: { interval in
            (try? await withDeadline(interval, onTimeout: { .guestTimeout(vm: vm.name, operation: "status") }) {
                try await vm.guestStatus()
            }) != nil
        }, runState: {
            await vm.observedRunState().map(\.rawValue)
        })
    }

    /// Returns (with a reason) once `machine`'s guest is judged dead; runs until cancelled otherwise.
    func watch(_ machine: QEMUMachine) async -> String {
        await watch(answers: { interval in (try? await machine.guest.status(timeout: interval)) != nil },
                    runState: { await Self.runState(of: machine) })
    }

    /// The watch itself: `answers` asks the guest once (within the interval it is given); `runState` is the
    /// hypervisor's word on the VM ("running", "paused", nil when it does not answer either).
    func watch(answers: @Sendable (Duration) async -> Bool, runState: @Sendable () async -> String?) async -> String {
        let clock = ContinuousClock()
        var lastAnswer = clock.now
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            if Task.isCancelled { break }
            if await answers(interval) {
                lastAnswer = clock.now
                continue
            }
            guard clock.now - lastAnswer >= limit else { continue }
            let state = await runState()
            if state == "paused" {
                lastAnswer = clock.now  // paused on purpose: not the guest's fault
                continue
            }
            return "its guest agent has not answered for \(Int((clock.now - lastAnswer).seconds)) s (the hypervisor reports \(state ?? "nothing either"))"
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
