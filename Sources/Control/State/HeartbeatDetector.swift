/// The ping-pong failure detector over an agent's links, as a sans-I/O state machine.
///
/// Each end of a watched link sends a ping every `period`; the shell answers pings with pongs straight from
/// the connection's reader, so a peer whose agent loop is merely busy (printing 100,000 lines) still answers,
/// while a hung (SIGSTOP) or dead one does not. Any inbound message counts as a sign of life; a peer silent
/// for `timeout` (default 1.5 × period) is suspected. Detection after a hang therefore takes between
/// `timeout − period` and `timeout` plus one tick (median about one period), at two pings and two pongs per
/// link per period: the traffic that matters at 1,024 agents on a small machine.
public struct HeartbeatDetector: Sendable {
    /// What the shell must do.
    public enum Action: Sendable, Hashable {
        /// Send a ping with this id to the peer.
        case ping(peer: Int, id: UInt64)
        /// The peer has been silent for `silence`: it is suspected failed.
        case suspect(peer: Int, silence: Duration)
    }

    private struct Peer: Sendable {
        var lastHeard: Duration
        var lastPing: Duration
    }

    /// This agent's rank.
    public let rank: Int
    /// The detection period; pings go out once per period.
    public let period: Duration
    /// Silence after which a peer is suspected.
    public let timeout: Duration
    private var peers: [Int: Peer] = [:]
    private var nextID: UInt64 = 1
    private var lastTick: Duration?

    public init(rank: Int, period: Duration, timeout: Duration? = nil) {
        self.rank = rank
        self.period = period
        self.timeout = timeout ?? period + period / 2
    }

    /// Ranks currently watched.
    public var watched: [Int] { peers.keys.sorted() }

    /// Starts watching `peer` (its silence is measured from `now`).
    public mutating func watch(_ peer: Int, now: Duration) {
        peers[peer] = Peer(lastHeard: now, lastPing: now - period)
    }

    /// Stops watching `peer`.
    public mutating func forget(_ peer: Int) {
        peers[peer] = nil
    }

    /// Records that something arrived from `peer`.
    public mutating func heard(from peer: Int, now: Duration) {
        peers[peer]?.lastHeard = now
    }

    /// Sends due pings and reports peers silent for longer than the timeout (each once: they are forgotten).
    ///
    /// If this agent itself was not scheduled for more than half a period (an overloaded machine), it cannot
    /// tell silent peers from its own pause: every peer gets a fresh grace period instead of a verdict.
    public mutating func tick(now: Duration) -> [Action] {
        var actions: [Action] = []
        defer { lastTick = now }
        if let lastTick, now - lastTick > period / 2 {
            for key in peers.keys { peers[key]?.lastHeard = now }
        }
        for rankOfPeer in peers.keys.sorted() {
            guard var peer = peers[rankOfPeer] else { continue }
            let silence = now - peer.lastHeard
            if silence > timeout {
                peers[rankOfPeer] = nil
                actions.append(.suspect(peer: rankOfPeer, silence: silence))
                continue
            }
            if now - peer.lastPing >= period {
                peer.lastPing = now
                peers[rankOfPeer] = peer
                actions.append(.ping(peer: rankOfPeer, id: nextID))
                nextID += 1
            }
        }
        return actions
    }
}
