/// Where a logical agent listens and which OS process hosts it, as reported up the boot tree.
public struct AgentEndpoint: Codable, Sendable, Hashable {
    /// The agent's rank (0 = controller, 1…N = the nodes' root agents).
    public var rank: Int
    /// Host or address other agents dial.
    public var host: String
    public var port: Int
    /// pid of the hosting OS process (on its host).
    public var pid: Int32

    public init(rank: Int, host: String, port: Int, pid: Int32) {
        self.rank = rank
        self.host = host
        self.port = port
        self.pid = pid
    }
}
