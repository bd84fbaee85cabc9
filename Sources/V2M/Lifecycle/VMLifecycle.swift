/// The VM lifecycle as a pure state machine: operations and observations in, new state and events out.
///
/// ```
/// defined ─start→ starting ─bootCompleted→ running ⇄ paused (pause/resume)
/// running|paused ─stop→ stopping ─processExited→ stopped
/// any active state ─processExited(unexpected)→ crashed
/// stopped|crashed ─start→ starting
/// ```
/// Plug-ins call `begin(_:)` before issuing a command (an illegal operation throws and nothing is sent),
/// then report what the hypervisor said with `observe(_:)`.
public struct VMLifecycle: Sendable, Equatable {
    /// What the user or runtime asks for.
    public enum Operation: String, Sendable, CustomStringConvertible {
        case start, pause, resume, stop, forceStop, migrate
        public var description: String {
            switch self {
            case .forceStop: return "force-stop"
            default: return rawValue
            }
        }
    }

    /// What the hypervisor reports.
    public enum Observation: Sendable, Equatable {
        case bootCompleted
        case paused
        case resumed
        case startFailed(reason: String)
        /// The hypervisor process is gone; `expected` when a stop was requested.
        case processExited(reason: String)
        case migrated
    }

    public let vmName: String
    public private(set) var state: VMState

    public init(vmName: String, state: VMState = .defined) {
        self.vmName = vmName
        self.state = state
    }

    /// Validates `operation` in the current state and moves to its intermediate state; returns the events.
    public mutating func begin(_ operation: Operation) throws(V2MError) -> [VMEvent] {
        let next: VMState
        switch (operation, state) {
        case (.start, .defined), (.start, .stopped), (.start, .crashed): next = .starting
        case (.pause, .running): next = .paused
        case (.resume, .paused): next = .running
        case (.stop, .running), (.stop, .paused): next = .stopping
        case (.forceStop, .starting), (.forceStop, .running), (.forceStop, .paused), (.forceStop, .stopping): next = .stopping
        case (.migrate, .running), (.migrate, .paused): return []
        default:
            throw .illegalTransition(vm: vmName, from: state, operation: operation.description)
        }
        // pause/resume complete when the hypervisor confirms; state changes then.
        if operation == .pause || operation == .resume { return [] }
        return transition(to: next)
    }

    /// Applies what the hypervisor reported; impossible observations are ignored (returns no events).
    public mutating func observe(_ observation: Observation) -> [VMEvent] {
        switch (observation, state) {
        case (.bootCompleted, .starting):
            return transition(to: .running)
        case (.paused, .running):
            return transition(to: .paused)
        case (.resumed, .paused):
            return transition(to: .running)
        case (.startFailed(let reason), .starting):
            return transition(to: .crashed) + [.crashed(vm: vmName, reason: reason)]
        case (.processExited, .stopping):
            return transition(to: .stopped) + [.exited(vm: vmName)]
        case (.processExited(let reason), .starting), (.processExited(let reason), .running),
             (.processExited(let reason), .paused):
            return transition(to: .crashed) + [.crashed(vm: vmName, reason: reason)]
        case (.migrated, .running), (.migrated, .paused):
            return [.migrated(vm: vmName)]
        default:
            return []
        }
    }

    /// True if `operation` is allowed now.
    public func allows(_ operation: Operation) -> Bool {
        var copy = self
        return (try? copy.begin(operation)) != nil
    }

    private mutating func transition(to next: VMState) -> [VMEvent] {
        guard next != state else { return [] }
        let from = state
        state = next
        return [.stateChanged(vm: vmName, from: from, to: next)]
    }
}
