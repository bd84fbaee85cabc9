/// Every message of the vhpc protocol. One case per ``MessageKind``.
public enum Message: Hashable, Sendable {
    // Handshake.
    case hello(Hello)
    case challenge(Challenge)
    case response(ChallengeResponse)
    case welcome(Welcome)
    // Liveness.
    case ping(Heartbeat)
    case pong(Heartbeat)
    // Topology and failures.
    case routeUpdate(RouteUpdate)
    case failureReport(FailureReport)
    // Commands.
    case launch(LaunchCommand)
    case control(ControlCommand)
    case agentControl(AgentControl)
    // Data.
    case ioData(IOData)
    case fileChunk(FileChunk)
    // Replies.
    case ack(Ack)
    case error(ErrorMessage)
    // Links between agents sharing a connection.
    indirect case link(LinkFrame)

    public var kind: MessageKind {
        switch self {
        case .hello: return .hello
        case .challenge: return .challenge
        case .response: return .response
        case .welcome: return .welcome
        case .ping: return .ping
        case .pong: return .pong
        case .routeUpdate: return .routeUpdate
        case .failureReport: return .failureReport
        case .launch: return .launch
        case .control: return .control
        case .agentControl: return .agentControl
        case .ioData: return .ioData
        case .fileChunk: return .fileChunk
        case .ack: return .ack
        case .error: return .error
        case .link: return .link
        }
    }
}
