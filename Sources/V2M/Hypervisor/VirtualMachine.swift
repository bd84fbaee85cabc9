import GuestProtocol
import Synchronization

/// The handle to one VM, whatever the hypervisor: start, pause, resume, stop, migrate, status, exec, and
/// an event stream. Every operation is checked against `VMLifecycle` first (an illegal one throws
/// `illegalTransition` and sends nothing to the hypervisor); one operation runs at a time.
public final class VirtualMachine: Sendable {
    public let profile: VMProfile
    public let kind: HypervisorKind
    private let backend: any VMBackend

    private struct State {
        var lifecycle: VMLifecycle
        var busy: VMLifecycle.Operation?
        var subscribers: [Int: AsyncStream<VMEvent>.Continuation] = [:]
        var nextSubscriber = 0
        var history: [VMEvent] = []
        var guest: GuestInfo?
        /// Incremented by every start; exit reports from an earlier run are ignored.
        var run = 0
    }

    private let state: Mutex<State>

    init(profile: VMProfile, kind: HypervisorKind, backend: any VMBackend, state initial: VMState = .defined) {
        self.profile = profile
        self.kind = kind
        self.backend = backend
        self.state = Mutex(State(lifecycle: VMLifecycle(vmName: profile.name, state: initial)))
    }

    public var name: String { profile.name }
    /// The current lifecycle state.
    public var currentState: VMState { state.withLock { $0.lifecycle.state } }
    /// What the guest agent reported at its last `ready`.
    public var guestInfo: GuestInfo? { state.withLock { $0.guest } }
    /// Every event so far, oldest first.
    public var history: [VMEvent] { state.withLock { $0.history } }
    /// The hypervisor process id, if any.
    public var processID: Int32? { backend.processID }
    /// Process, sockets and log of the running VM (for records).
    public var runtime: VMRuntimeInfo? { backend.runtime }

    /// A stream of the VM's events from now on (state changes, guest ready, exited, crashed).
    public func events() -> AsyncStream<VMEvent> {
        let (stream, continuation) = AsyncStream<VMEvent>.makeStream()
        let id = state.withLock { s in
            defer { s.nextSubscriber += 1 }
            s.subscribers[s.nextSubscriber] = continuation
            return s.nextSubscriber
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.subscribers.removeValue(forKey: id) }
        }
        return stream
    }

    // MARK: operations

    /// Boots the VM; returns once the guest agent is ready.
    public func start() async throws {
        try begin(.start)
        let run = state.withLock { s in
            s.run += 1
            return s.run
        }
        do {
            let info = try await backend.start(onExit: { [weak self] reason in self?.backendExited(reason: reason, run: run) })
            var events: [VMEvent] = []
            state.withLock { s in
                s.guest = info
                if let info { events.append(.guestReady(vm: profile.name, info: info)) }
            }
            observe(.bootCompleted)
            emit(events)
            finish()
        } catch {
            observe(.startFailed(reason: "\(error)"))
            finish()
            await backend.cleanup()
            throw error
        }
    }

    /// Freezes the VM's vCPUs (status `paused`; the guest counter stops).
    public func pause() async throws {
        try begin(.pause)
        defer { finish() }
        try await backend.pause()
        observe(.paused)
    }

    /// Unfreezes a paused VM.
    public func resume() async throws {
        try begin(.resume)
        defer { finish() }
        try await backend.resume()
        observe(.resumed)
    }

    /// Stops the VM: graceful (guest power-off within `timeout`, then killed) or, with `force`, at once.
    /// Returns true if the guest powered off by itself.
    @discardableResult
    public func stop(timeout: Duration = .seconds(10), force: Bool = false) async throws -> Bool {
        try begin(force ? .forceStop : .stop)
        defer { finish() }
        var graceful = false
        if force {
            await backend.kill()
        } else {
            graceful = (try? await backend.stop(timeout: timeout)) ?? false
            if !graceful { await backend.kill() }
        }
        // The backend's exit report may not have arrived yet; make sure the state ends at `stopped`.
        backendExited(reason: graceful ? "powered off" : "killed", run: state.withLock { $0.run })
        await backend.cleanup()
        return graceful
    }

    /// Live-migrates the VM to a new hypervisor process; the guest keeps running.
    public func migrate(to target: String? = nil) async throws {
        try begin(.migrate)
        defer { finish() }
        try await backend.migrate(to: target)
        observe(.migrated)
    }

    /// The guest agent's liveness counter.
    public func guestStatus() async throws -> GuestStatus {
        try await backend.guestStatus()
    }

    /// Runs a command in the guest, streaming its output; returns its exit status. `stdin` is what it reads,
    /// then end-of-file (nil: end-of-file at once).
    public func exec(_ argv: [String], environment: [String] = [], stdin: AsyncStream<[UInt8]>? = nil,
                     onOutput: @escaping @Sendable (GuestMessage.OutputStream, [UInt8]) -> Void) async throws -> Int32 {
        try await run(GuestCommand(argv, environment: environment, stdin: stdin), onOutput: onOutput)
    }

    /// Runs `command` in the guest (working directory, stdin, PMI connection: see ``GuestCommand``),
    /// streaming its output; returns its exit status.
    public func run(_ command: GuestCommand,
                    onOutput: @escaping @Sendable (GuestMessage.OutputStream, [UInt8]) -> Void) async throws -> Int32 {
        guard currentState == .running else {
            throw V2MError.illegalTransition(vm: name, from: currentState, operation: "exec")
        }
        return try await backend.exec(command, onOutput: onOutput)
    }

    /// What the hypervisor says about the VM right now (another process may have paused it); nil when it
    /// does not answer or cannot say.
    public func observedRunState() async -> VMState? {
        await backend.observedRunState()
    }

    /// Removes what a stopped or crashed VM left behind (overlay, sockets, logs). Refused while active.
    public func discard() async throws {
        guard !currentState.isActive else {
            throw V2MError.illegalTransition(vm: name, from: currentState, operation: "discard")
        }
        await backend.cleanup()
    }

    // MARK: internals

    private func begin(_ operation: VMLifecycle.Operation) throws(V2MError) {
        let result: Result<[VMEvent], V2MError> = state.withLock { s in
            if let busy = s.busy, operation != .forceStop {
                return .failure(.illegalTransition(vm: profile.name, from: s.lifecycle.state,
                                                   operation: "\(operation) (\(busy) in progress)"))
            }
            do throws(V2MError) {
                let events = try s.lifecycle.begin(operation)
                s.busy = operation
                return .success(events)
            } catch {
                return .failure(error)
            }
        }
        emit(try result.get())
    }

    private func finish() {
        state.withLock { $0.busy = nil }
    }

    private func observe(_ observation: VMLifecycle.Observation) {
        emit(state.withLock { $0.lifecycle.observe(observation) })
    }

    private func backendExited(reason: String, run: Int) {
        let events = state.withLock { s in
            s.run == run ? s.lifecycle.observe(.processExited(reason: reason)) : []
        }
        emit(events)
        if events.contains(where: { if case .crashed = $0 { return true } else { return false } }) {
            Task { await backend.cleanup() }
        }
    }

    private func emit(_ events: [VMEvent]) {
        guard !events.isEmpty else { return }
        let subscribers = state.withLock { s in
            s.history += events
            return Array(s.subscribers.values)
        }
        for event in events {
            for subscriber in subscribers { subscriber.yield(event) }
        }
    }
}
