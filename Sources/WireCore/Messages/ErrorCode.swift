/// Why a peer sent an ``ErrorMessage``. Open-ended: codes this build does not know decode as themselves.
public struct ErrorCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16

    public init(rawValue: UInt16) {
        self.rawValue = rawValue
    }

    public static let protocolViolation = ErrorCode(rawValue: 1)
    public static let unsupportedVersion = ErrorCode(rawValue: 2)
    public static let authenticationFailed = ErrorCode(rawValue: 3)
    public static let wrongJob = ErrorCode(rawValue: 4)
    public static let timeout = ErrorCode(rawValue: 5)
    /// A command was understood but could not be carried out.
    public static let commandFailed = ErrorCode(rawValue: 16)
    /// No route to the command's target.
    public static let unreachable = ErrorCode(rawValue: 17)
    public static let `internal` = ErrorCode(rawValue: 255)

    public var description: String {
        switch self {
        case .protocolViolation: return "protocolViolation"
        case .unsupportedVersion: return "unsupportedVersion"
        case .authenticationFailed: return "authenticationFailed"
        case .wrongJob: return "wrongJob"
        case .timeout: return "timeout"
        case .commandFailed: return "commandFailed"
        case .unreachable: return "unreachable"
        case .internal: return "internal"
        default: return "code\(rawValue)"
        }
    }
}
