/// The kind byte of a frame header: which message the payload holds.
///
/// Values are part of the wire format and never reused.
public enum MessageKind: UInt8, CaseIterable, Hashable, Sendable, CustomStringConvertible {
    // Handshake (sent before the session is established, without a MAC).
    case hello = 0x01
    case challenge = 0x02
    case response = 0x03
    case welcome = 0x04
    // Liveness.
    case ping = 0x10
    case pong = 0x11
    // Topology and failures.
    case routeUpdate = 0x20
    case failureReport = 0x21
    // Commands.
    case launch = 0x30
    case control = 0x31
    case agentControl = 0x32
    // Data.
    case ioData = 0x40
    case fileChunk = 0x41
    // Replies.
    case ack = 0x50
    case error = 0x51
    // Logical links on a shared connection.
    case link = 0x60

    /// Kinds that may travel before the session is established (without a MAC).
    public var isHandshake: Bool {
        switch self {
        case .hello, .challenge, .response, .welcome, .error: return true
        default: return false
        }
    }

    public var description: String {
        switch self {
        case .hello: return "hello"
        case .challenge: return "challenge"
        case .response: return "response"
        case .welcome: return "welcome"
        case .ping: return "ping"
        case .pong: return "pong"
        case .routeUpdate: return "routeUpdate"
        case .failureReport: return "failureReport"
        case .launch: return "launch"
        case .control: return "control"
        case .agentControl: return "agentControl"
        case .ioData: return "ioData"
        case .fileChunk: return "fileChunk"
        case .ack: return "ack"
        case .error: return "error"
        case .link: return "link"
        }
    }
}
