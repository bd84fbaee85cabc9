import Topology

/// How an agent learns its binomial-graph neighbours' endpoints without the whole address table (part of
/// ``AgentMachine``'s wiring; O(log N) state and messages per agent).
///
/// The endpoint of `rank + 2^j` is the one `rank + 2^(j-1)` itself learns at step j − 1 (it is *its*
/// `+ 2^(j-1)` neighbour), so each agent asks the neighbour half-way there, once the link to it is up;
/// `rank + 1` introduces itself along the boot tree (on a breadth-first tree consecutive ranks are close:
/// an agent forwards O(fanout × height) introductions). A helper that failed is replaced by the controller,
/// which keeps the whole table. Wiring thus takes ⌈log2 N⌉ steps of a link handshake and a round trip.
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

    /// The lookups to send now, given what is known, failed and linked (each target is asked once); with
    /// `halfway`, only those asked of that neighbour (its link just came up).
    mutating func requests(known: [Int: AgentEndpoint], failed: [Int: FailureNotice], linked: Set<Int>, halfway only: Int? = nil) -> [Request] {
        guard !open.isEmpty else { return [] }
        // Every link that comes up asks: with `halfway`, usually about none of the open jumps, so nothing is
        // allocated then; the open list is compacted in place.
        if let only, !open.contains(where: { (rank + jumps[$0 - 1]) % rankCount == only }) { return [] }
        var out: [Request] = []
        var kept = 0
        for position in open.indices {
            let index = open[position]
            var stays = false
            if let only, (rank + jumps[index - 1]) % rankCount != only {
                stays = true
            } else {
                let target = (rank + jumps[index]) % rankCount
                if target == rank || known[target] != nil || isFailed(target, failed) {
                    stays = false
                } else {
                    let halfway = (rank + jumps[index - 1]) % rankCount
                    if halfway == 0 || isFailed(halfway, failed) {
                        out.append(Request(target: target, helper: 0))
                    } else if linked.contains(halfway) {
                        out.append(Request(target: target, helper: halfway))
                    } else {
                        stays = true
                    }
                }
            }
            if stays {
                open[kept] = index
                kept += 1
            }
        }
        open.removeLast(open.count - kept)
        return out
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
