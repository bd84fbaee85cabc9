import Topology

/// How an agent learns its binomial-graph neighbours' endpoints without the whole address table (part of
/// ``AgentMachine``'s wiring; O(log N) state and messages per agent).
///
/// The endpoint of `rank + 2^j` is the one `rank + 2^(j-1)` itself learns at step j − 1 (it is *its*
/// `+ 2^(j-1)` neighbour), so the neighbour half-way there sends it unasked once it knows it and the link
/// between them is up (``push(linkedTo:known:)``, ``push(learned:linked:)``: where the agent asked for it,
/// one frame more per step and agent, 16 at 100,000 agents); `rank + 1` introduces itself along the boot
/// tree (on a breadth-first tree consecutive ranks are close: an agent forwards O(fanout × height)
/// introductions). A helper that failed, or the controller half-way, is asked instead (the controller keeps
/// the whole table). Wiring thus takes ⌈log2 N⌉ steps of a link handshake and a one-way trip.
struct NeighbourDiscovery: Sendable {
    /// A lookup to send: the endpoint of `target`, asked of `helper` (0: the controller, routed if need be).
    struct Request: Sendable, Hashable {
        var target: Int
        var helper: Int
    }

    let rank: Int
    let rankCount: Int
    /// The binomial graph's clockwise jumps 2^j < N.
    let jumps: [Int]
    /// Ranks the controller's go listed as not joined.
    var failedAtStart: Set<Int> = []
    /// The controller's go has come: lookups may go out.
    var started = false
    /// Links this agent has dialled.
    var dialed: Set<Int> = []
    /// Jump indices (≥ 1) whose target is neither known, failed nor asked yet: the only ones looked at.
    private var open: [Int]
    /// Lookups this agent could not answer yet: target → who asked.
    private var waiting: [Int: [Int]] = [:]
    /// Steps k whose endpoint (`rank + 2^k`) this agent has sent to `rank − 2^k` (bit k).
    private var pushed: UInt64 = 0

    init(rank: Int, rankCount: Int) {
        self.rank = rank
        self.rankCount = rankCount
        var jumps: [Int] = []
        var step = 1
        while step < rankCount {
            jumps.append(step)
            step <<= 1
        }
        self.jumps = jumps
        open = rank == 0 ? [] : Array(jumps.indices.dropFirst())  // the controller has the whole table
    }

    /// The ring predecessor, to which this agent introduces itself.
    var predecessor: Int { (rank - 1 + rankCount) % rankCount }

    /// The lookups to send now, given what is known and failed (each target is asked once): only where the
    /// helper half-way is the controller or failed (a live helper sends the endpoint unasked).
    mutating func requests(known: [Int: AgentEndpoint], failed: [Int: FailureNotice]) -> [Request] {
        guard !open.isEmpty else { return [] }
        var out: [Request] = []
        var kept = 0
        for position in open.indices {
            let index = open[position]
            let target = (rank + jumps[index]) % rankCount
            guard target != rank, known[target] == nil, !isFailed(target, failed) else { continue }
            let halfway = (rank + jumps[index - 1]) % rankCount
            if halfway == 0 || isFailed(halfway, failed) {
                out.append(Request(target: target, helper: 0))
            } else {
                open[kept] = index  // the live helper sends it once it has it and is linked here
                kept += 1
            }
        }
        open.removeLast(open.count - kept)
        return out
    }

    /// An endpoint to send unasked: `endpoint`'s rank to the agent `to`.
    struct Push: Sendable, Hashable {
        var to: Int
        var target: Int
    }

    /// The link to `peer` came up: if `peer` is `rank − 2^k` and this agent knows `rank + 2^k` (the endpoint
    /// `peer` needs at its step k + 1), send it.
    mutating func push(linkedTo peer: Int, known: [Int: AgentEndpoint]) -> Push? {
        guard let k = step(of: (rank - peer + rankCount) % rankCount) else { return nil }
        return push(k) { target, receiver in receiver == peer && known[target] != nil }
    }

    /// This agent learned `target`'s endpoint: if `target` is `rank + 2^k`, send it to `rank − 2^k` once linked.
    mutating func push(learned target: Int, linked: Set<Int>) -> Push? {
        guard let k = step(of: (target - rank + rankCount) % rankCount) else { return nil }
        return push(k) { _, receiver in linked.contains(receiver) }
    }

    /// Every push due now (at the go to wire: endpoints known from the bootstrap, links already up).
    mutating func pushes(known: [Int: AgentEndpoint], linked: Set<Int>) -> [Push] {
        (0..<jumps.count).compactMap { k in push(k) { target, receiver in linked.contains(receiver) && known[target] != nil } }
    }

    /// k when `distance` is 2^k and `rank ± 2^k` has a step k + 1 (2^(k+1) < N); never for the controller,
    /// which answers lookups instead.
    private func step(of distance: Int) -> Int? {
        guard rank != 0, distance > 0, distance & (distance - 1) == 0 else { return nil }
        let k = distance.trailingZeroBitCount
        return k + 1 < jumps.count ? k : nil
    }

    /// Step k's push, once: `rank + 2^k` to `rank − 2^k` (not the controller) when `isDue(target, receiver)`
    /// (the link to the receiver is up and the endpoint known).
    private mutating func push(_ k: Int, isDue: (_ target: Int, _ receiver: Int) -> Bool) -> Push? {
        guard rank != 0, k + 1 < jumps.count, pushed & (1 << k) == 0 else { return nil }
        let receiver = (rank - jumps[k] + rankCount) % rankCount
        let target = (rank + jumps[k]) % rankCount
        guard receiver != 0, receiver != rank, target != rank, target != receiver, isDue(target, receiver) else { return nil }
        pushed |= 1 << k
        return Push(to: receiver, target: target)
    }

    private func isFailed(_ peer: Int, _ failed: [Int: FailureNotice]) -> Bool {
        failedAtStart.contains(peer) || failed[peer] != nil
    }

    /// `requester` asked for `target`'s endpoint before this agent knew it.
    mutating func wait(for target: Int, requester: Int) {
        waiting[target, default: []].append(requester)
    }

    /// Who waits for `target`'s endpoint, now known (they are answered once).
    mutating func answered(_ target: Int) -> [Int] {
        waiting.removeValue(forKey: target) ?? []
    }

    /// The waiting lookups `known` now answers (endpoints learnt without a lookup: the address table's, the
    /// parent's, the children's), each once: target → who asked.
    mutating func answerable(known: [Int: AgentEndpoint]) -> [(target: Int, requesters: [Int])] {
        let targets = waiting.keys.filter { known[$0] != nil }.sorted()
        return targets.map { ($0, answered($0)) }
    }
}
