import GuestProtocol
import Synchronization

/// In-memory hypervisor for tests and scale simulations of the control runtime: no processes, configurable
/// latencies, injectable faults, a simulated guest whose 10 Hz counter advances only while running.
/// Never chosen by `auto`.
public final class SimulatedHypervisor: Hypervisor, Sendable {
    /// Latencies of each operation.
    public struct Latencies: Sendable, Equatable {
        public var boot: Duration = .milliseconds(50)
        public var pause: Duration = .milliseconds(1)
        public var resume: Duration = .milliseconds(1)
        public var stop: Duration = .milliseconds(10)
        public var migrate: Duration = .milliseconds(100)
        public init() {}
    }

    /// An operation that can be made to fail.
    public enum Fault: Sendable, Hashable {
        case start, pause, resume, stop, migrate, exec
    }

    public let kind = HypervisorKind.simulated
    public let latencies: Latencies
    private let faults = Mutex<[String: Set<Fault>]>([:])
    private let running = Mutex<[String: SimulatedBackend]>([:])

    public init(latencies: Latencies = Latencies()) {
        self.latencies = latencies
    }

    public func availability() async -> HypervisorAvailability {
        HypervisorAvailability(usable: true, detail: "in-memory simulation")
    }

    public func makeBackend(for profile: VMProfile) throws(V2MError) -> any VMBackend {
        let backend = SimulatedBackend(name: profile.name, hypervisor: self)
        running.withLock { $0[profile.name] = backend }
        return backend
    }

    /// Makes `operation` fail for VM `name` (`"*"`: every VM) until cleared.
    public func inject(_ fault: Fault, vm name: String = "*") {
        faults.withLock { $0[name, default: []].insert(fault) }
    }

    /// Removes all injected faults.
    public func clearFaults() {
        faults.withLock { $0.removeAll() }
    }

    /// Simulates the VM's process dying (`kill -9`): its handle reports `crashed`.
    public func crash(vm name: String, reason: String = "killed by signal 9") {
        running.withLock { $0[name] }?.crash(reason: reason)
    }

    func shouldFail(_ fault: Fault, vm: String) -> Bool {
        faults.withLock { ($0[vm]?.contains(fault) ?? false) || ($0["*"]?.contains(fault) ?? false) }
    }
}

/// One simulated VM.
final class SimulatedBackend: VMBackend, Sendable {
    private struct State {
        var alive = false
        var paused = false
        var counter: UInt64 = 0
        var runningSince: ContinuousClock.Instant?
        var bootedAt: ContinuousClock.Instant?
        var onExit: (@Sendable (String) -> Void)?
    }

    let name: String
    let hypervisor: SimulatedHypervisor
    private let state = Mutex(State())

    init(name: String, hypervisor: SimulatedHypervisor) {
        self.name = name
        self.hypervisor = hypervisor
    }

    var processID: Int32? { nil }

    private func check(_ fault: SimulatedHypervisor.Fault, _ operation: String) throws {
        if hypervisor.shouldFail(fault, vm: name) { throw V2MError.injectedFault(vm: name, operation: operation) }
    }

    func start(onExit: @escaping @Sendable (String) -> Void) async throws -> GuestInfo? {
        try await Task.sleep(for: hypervisor.latencies.boot)
        try check(.start, "start")
        let now = ContinuousClock.now
        state.withLock { s in
            s = State(alive: true, paused: false, counter: 0, runningSince: now, bootedAt: now, onExit: onExit)
        }
        return GuestInfo(kernelRelease: "simulated", hostname: name, vseName: "simulated", agentVersion: "1", counter: 0)
    }

    func pause() async throws {
        try await Task.sleep(for: hypervisor.latencies.pause)
        try check(.pause, "pause")
        state.withLock { s in
            s.counter = Self.counter(s)
            s.paused = true
            s.runningSince = nil
        }
    }

    func resume() async throws {
        try await Task.sleep(for: hypervisor.latencies.resume)
        try check(.resume, "resume")
        state.withLock { s in
            s.paused = false
            s.runningSince = .now
        }
    }

    func stop(timeout: Duration) async throws -> Bool {
        try await Task.sleep(for: min(hypervisor.latencies.stop, timeout))
        try check(.stop, "stop")
        end(reason: "powered off")
        return true
    }

    func kill() async {
        end(reason: "killed")
    }

    func observedRunState() async -> VMState? {
        state.withLock { s in s.alive ? (s.paused ? .paused : .running) : .stopped }
    }

    func migrate(to target: String?) async throws {
        try await Task.sleep(for: hypervisor.latencies.migrate)
        try check(.migrate, "migrate")
    }

    func guestStatus() async throws -> GuestStatus {
        let (alive, counter, uptime) = state.withLock { s in
            (s.alive, Self.counter(s), s.bootedAt.map { UInt64(max(0, (ContinuousClock.now - $0).seconds) * 1000) } ?? 0)
        }
        guard alive else { throw V2MError.guestChannel(vm: name, reason: "VM not running") }
        return GuestStatus(counter: counter, uptimeMilliseconds: uptime)
    }

    func exec(_ command: GuestCommand,
              onOutput: @escaping @Sendable (GuestMessage.OutputStream, [UInt8]) -> Void) async throws -> Int32 {
        try check(.exec, "exec")
        let argv = command.argv
        // A tiny shell: `echo WORDS`, `printenv NAME…` (from the command's environment), `sleep S`, `true`,
        // `false`, `exit N`; anything else fails to start.
        switch argv.first {
        case "echo":
            onOutput(.stdout, Array((argv.dropFirst().joined(separator: " ") + "\n").utf8))
            return 0
        case "printenv":
            let values = Dictionary(command.environment.map { ($0.prefix { $0 != "=" }, $0.drop { $0 != "=" }.dropFirst()) },
                                    uniquingKeysWith: { _, last in last })
            var status: Int32 = 0
            for name in argv.dropFirst() {
                if let value = values[Substring(name)] { onOutput(.stdout, Array((value + "\n").utf8)) } else { status = 1 }
            }
            return status
        case "sleep":
            try await Task.sleep(for: .seconds(Double(argv.dropFirst().first ?? "0") ?? 0))
            return 0
        case "true": return 0
        case "false": return 1
        case "exit": return Int32(argv.dropFirst().first ?? "0") ?? 0
        default:
            throw V2MError.guestExecFailed(vm: name, reason: "\(argv.first ?? ""): No such file or directory")  // as the guest agent says it
        }
    }

    func cleanup() async {}

    func crash(reason: String) {
        end(reason: reason)
    }

    private func end(reason: String) {
        let handler = state.withLock { s -> (@Sendable (String) -> Void)? in
            guard s.alive else { return nil }
            s.counter = Self.counter(s)
            s.alive = false
            s.runningSince = nil
            defer { s.onExit = nil }
            return s.onExit
        }
        handler?(reason)
    }

    private static func counter(_ s: State) -> UInt64 {
        guard let since = s.runningSince else { return s.counter }
        return s.counter + UInt64(max(0, (ContinuousClock.now - since).seconds) * 10)
    }
}
