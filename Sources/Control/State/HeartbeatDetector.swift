/// The ping-pong failure detector over an agent's links, as a sans-I/O state machine.
///
/// Each end of a watched link sends a ping every `period`; the shell answers pings with pongs straight from
/// the connection's reader, so a peer whose agent loop is merely busy (printing 100,000 lines) still answers,
/// while a hung (SIGSTOP) or dead one does not. Any inbound message counts as a sign of life; a peer silent
/// for `timeout` (default 1.5 × period) is suspected, at two pings and two pongs per link per period: the
/// traffic that matters at 1,024 agents on a small machine. With `adaptive` false (the fixed detector),
/// a suspected peer is declared failed at once: detection after a hang takes between `timeout − period` and
/// `timeout` plus one tick.
///
/// Under load it backs off, after Lifeguard (Dadgar et al., "Lifeguard: Local Health Awareness for More
/// Accurate Failure Detection", 2018), so a saturated node (VMs booting on 2 cores) does not declare its
/// slow-but-alive peers dead:
/// - **local health**: a score 0…``maximumLocalHealth`` that rises when this agent sees signs that *it* is
///   slow — its own ticks come late (with `expectedTick` known: more than 4 ticks' time apart; a pause of
///   half a period or more counts double and, as before, gives every peer a fresh grace period), or several
///   peers fall silent at once — and falls by one per period of on-time ticks. Timeouts are multiplied by
///   (1 + score).
/// - **suspicion**: a silent peer is first *suspected* (pinged again, local health + 1) and declared failed
///   only if it stays silent for one more (scaled) timeout; anything from it clears the suspicion. A hung
///   peer of a healthy agent is therefore declared after about two timeouts (three periods) instead of one;
///   kill -9 is still seen at once (its connection closes).
/// - **a hard bound**: grace periods and larger timeouts never stretch detection past ``hardBound``
///   (`timeout × (1 + maximumLocalHealth)`) of wall-clock silence. On a machine loaded so much that this
///   agent's own ticks keep coming late, every late tick used to give every peer a fresh grace period, so a
///   hung peer was never declared at all. Only a pause of this agent itself longer than half the bound
///   (it was stopped) moves the bound's clock.
public struct HeartbeatDetector: Sendable {
    /// What the shell must do.
    public enum Action: Sendable, Hashable {
        /// Send a ping with this id to the peer.
        case ping(peer: Int, id: UInt64)
        /// The peer has been silent for `silence`: it is suspected failed.
        case suspect(peer: Int, silence: Duration)
    }

    private struct Peer: Sendable {
        var rank: Int
        var lastHeard: Duration
        var lastPing: Duration
        /// When it was first suspected (nil: not suspected).
        var suspectedAt: Duration?
        /// When it was last heard, moved only by this agent's own long pauses (for ``hardBound``).
        var silentSince: Duration
    }

    /// The highest local-health score (timeouts up to 9 × their base).
    public static let maximumLocalHealth = 8

    /// This agent's rank.
    public let rank: Int
    /// The detection period; pings go out once per period.
    public let period: Duration
    /// Silence after which a peer is suspected (on a healthy agent).
    public let timeout: Duration
    /// How often the shell ticks (nil: unknown; late ticks then count only from half a period).
    public let expectedTick: Duration?
    /// Whether local health and suspicion are used (false: the fixed timeout, for comparison benchmarks).
    public let adaptive: Bool
    /// The local-health score (0: healthy).
    public private(set) var localHealth = 0 {
        didSet { effectiveTimeout = timeout * (1 + localHealth) }
    }
    /// The silence after which a peer is suspected now: `timeout × (1 + localHealth)`, kept as the score
    /// changes. Every tick of every agent reads it and the bounds below; `Duration`'s `*` and `/` by an integer
    /// are generic (128-bit arithmetic through the runtime's witnesses: 4 % of `detect-model`'s time when
    /// each tick worked them out).
    public private(set) var effectiveTimeout: Duration
    /// Wall-clock silence after which a peer is declared failed whatever the load (adaptive detector).
    public let hardBound: Duration
    /// Half a period and half the hard bound (pauses of this agent), and four ticks' time (a late tick).
    private let halfPeriod: Duration
    private let halfHardBound: Duration
    private let lateTick: Duration?
    /// Peers suspected and then heard from before their verdict (each a failure this detector did not
    /// declare, for figures).
    public private(set) var refutedSuspicions = 0
    /// The watched peers, sorted by rank: a handful per agent, searched and walked in place (every tick and
    /// every message of every agent comes here; a dictionary hashed each access, and its keys were sorted
    /// into a new array on each tick).
    private var peers: [Peer] = []
    private var nextID: UInt64 = 1
    private var lastTick: Duration?
    private var healthySince: Duration?

    public init(rank: Int, period: Duration, timeout: Duration? = nil, expectedTick: Duration? = nil, adaptive: Bool = true) {
        self.rank = rank
        self.period = period
        let timeout = timeout ?? period + period / 2
        self.timeout = timeout
        self.expectedTick = expectedTick
        self.adaptive = adaptive
        effectiveTimeout = timeout
        hardBound = timeout * (1 + Self.maximumLocalHealth)
        halfPeriod = period / 2
        halfHardBound = hardBound / 2
        lateTick = expectedTick.map { $0 * 4 }
    }

    /// Ranks currently watched.
    public var watched: [Int] { peers.map(\.rank) }

    /// Where `peer` is in ``peers``, or where it would go.
    private func position(of peer: Int) -> (index: Int, found: Bool) {
        var index = 0
        while index < peers.count, peers[index].rank < peer { index += 1 }
        return (index, index < peers.count && peers[index].rank == peer)
    }

    /// Starts watching `peer` (its silence is measured from `now`).
    public mutating func watch(_ peer: Int, now: Duration) {
        let entry = Peer(rank: peer, lastHeard: now, lastPing: now - period, silentSince: now)
        let (index, found) = position(of: peer)
        if found { peers[index] = entry } else { peers.insert(entry, at: index) }
    }

    /// Stops watching `peer`.
    public mutating func forget(_ peer: Int) {
        let (index, found) = position(of: peer)
        if found { peers.remove(at: index) }
    }

    /// Records that something arrived from `peer`.
    public mutating func heard(from peer: Int, now: Duration) {
        let (index, found) = position(of: peer)
        guard found else { return }
        peers[index].lastHeard = now
        peers[index].silentSince = now
        if peers[index].suspectedAt != nil {
            peers[index].suspectedAt = nil
            refutedSuspicions += 1
        }
    }

    /// Sends due pings and reports peers silent for longer than the timeout (each once: they are forgotten).
    ///
    /// If this agent itself was not scheduled for more than half a period (an overloaded machine), it cannot
    /// tell silent peers from its own pause: every peer gets a fresh grace period instead of a verdict.
    public mutating func tick(now: Duration) -> [Action] {
        var actions: [Action] = []
        defer { lastTick = now }
        if let lastTick {
            let gap = now - lastTick
            if gap > halfPeriod {
                for index in peers.indices {
                    peers[index].lastHeard = now
                    // Stopped for long: this agent cannot judge its peers' silence over that time either.
                    if gap > halfHardBound { peers[index].silentSince = now }
                }
                raiseHealth(by: 2, now: now)
            } else if let lateTick, gap > lateTick {
                raiseHealth(by: 1, now: now)
            } else if adaptive, localHealth > 0, let since = healthySince, now - since >= period {
                localHealth -= 1
                healthySince = now
            }
        }
        // Every tick of every agent comes here: one pass over the few peers in rank order, in place.
        let limit = effectiveTimeout
        let bound = hardBound
        // Several peers silent at once: more likely this agent is slow than that they all died.
        if adaptive {
            var silentCount = 0
            var newlySilent = false
            for peer in peers where now - peer.lastHeard > limit {
                silentCount += 1
                newlySilent = newlySilent || peer.suspectedAt == nil
            }
            if silentCount > 1, newlySilent { raiseHealth(by: 1, now: now) }
        }
        var index = 0
        while index < peers.count {
            let peer = peers[index]
            let silence = now - peer.lastHeard
            if adaptive, now - peer.silentSince > bound {
                peers.remove(at: index)
                actions.append(.suspect(peer: peer.rank, silence: now - peer.silentSince))
                continue
            }
            if silence > limit {
                // The scaled timeout as it stands now (a suspicion raised just before, for another peer, counts).
                if !adaptive || peer.suspectedAt.map({ now - $0 > effectiveTimeout }) == true {
                    peers.remove(at: index)
                    actions.append(.suspect(peer: peer.rank, silence: silence))
                    continue
                }
                if peer.suspectedAt == nil {
                    // Suspect it: ask once more now, and give it one more (scaled) timeout to answer.
                    peers[index].suspectedAt = now
                    peers[index].lastPing = now
                    raiseHealth(by: 1, now: now)
                    actions.append(.ping(peer: peer.rank, id: nextID))
                    nextID += 1
                    index += 1
                    continue
                }
            }
            if now - peer.lastPing >= period {
                peers[index].lastPing = now
                actions.append(.ping(peer: peer.rank, id: nextID))
                nextID += 1
            }
            index += 1
        }
        return actions
    }

    private mutating func raiseHealth(by amount: Int, now: Duration) {
        healthySince = now
        guard adaptive else { return }
        localHealth = min(Self.maximumLocalHealth, localHealth + amount)
    }
}
