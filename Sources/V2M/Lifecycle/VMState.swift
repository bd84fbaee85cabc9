/// Where a VM is in its life. `stopped` and `crashed` are terminal for one run; a stopped or crashed VM
/// may be started again.
public enum VMState: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    case defined, starting, running, paused, stopping, stopped, crashed

    public var description: String { rawValue }

    /// True when a hypervisor process exists for the VM.
    public var isActive: Bool {
        switch self {
        case .starting, .running, .paused, .stopping: return true
        case .defined, .stopped, .crashed: return false
        }
    }
}
