import Wire

/// A failure as the control layer reports it: what failed, where, how, and who noticed.
public struct FailureNotice: Codable, Sendable, Hashable, CustomStringConvertible {
    /// The failed agent's rank.
    public var rank: Int
    /// The agent that detected it.
    public var reporter: Int
    /// Which detector fired: `connection-closed`, `heartbeat-timeout`, `child-exited`, `handshake-failed`.
    public var detector: String
    /// Free text: host, signal, exit status…
    public var detail: String

    public init(rank: Int, reporter: Int, detector: FailureDetector, detail: String) {
        self.rank = rank
        self.reporter = reporter
        self.detector = detector.name
        self.detail = detail
    }

    public var description: String {
        "agent \(rank) failed (\(detector), seen by \(reporter == 0 ? "controller" : "agent \(reporter)"))"
            + (detail.isEmpty ? "" : ": \(detail)")
    }
}

extension FailureDetector {
    /// The detector's name in reports.
    public var name: String {
        switch self {
        case .connectionClosed: return "connection-closed"
        case .heartbeatTimeout: return "heartbeat-timeout"
        case .childExited: return "child-exited"
        case .handshakeFailed: return "handshake-failed"
        }
    }
}
