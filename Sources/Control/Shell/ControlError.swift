/// Errors of the control layer that name what went wrong.
public enum ControlError: Error, Sendable, CustomStringConvertible {
    case badConfiguration(String)
    case bootstrapFailed(String)

    public var description: String {
        switch self {
        case .badConfiguration(let text): return "bad agent configuration: \(text)"
        case .bootstrapFailed(let text): return "bootstrap failed: \(text)"
        }
    }
}
