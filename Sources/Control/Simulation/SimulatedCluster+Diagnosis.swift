import Topology
import Wire

extension SimulatedCluster {
    /// Why the controller has not declared `victim` (for the figures of a detection run): who watches it and
    /// what each of them did, and where the reports about it stopped — a relay holding one, the hop it went to
    /// and whether that hop is alive and watched by the relay.
    func whyUndeclared(_ victim: Int) -> String {
        guard let router = try? LocalRouter(rank: victim, tree: tree) else { return "rank \(victim): out of range" }
        let watchers = router.neighbors().filter { HeartbeatWatchSet.watches($0, victim, tree: tree, rankCount: rankCount) }
        let seen = watchers.map { watcher -> String in
            let machine = machine(watcher)
            let verdict = machine?.failures[victim] != nil ? "declared it"
                : machine?.watchedPeers.contains(victim) == true ? "still watching" : "not watching"
            return "\(watcher) (\(nodes[watcher].health), \(verdict))"
        }
        var stuck: [String] = []
        for rank in machines.indices where nodes[rank].health == .up {
            guard let held = machine(rank)?.reportsVia else { continue }
            for (hop, reports) in held.sorted(by: { $0.key < $1.key }) {
                let about = reports.contains { if case .failureReport(let report) = $0 { Int(report.failed) == victim } else { false } }
                guard about else { continue }
                let watched = machine(rank)?.watchedPeers.contains(hop) == true ? "watched" : "not watched"
                let knownFailed = machine(rank)?.failures[hop] != nil ? ", known failed" : ""
                stuck.append("relay \(rank) → hop \(hop) (\(nodes[hop].health), \(watched) by the relay\(knownFailed))")
            }
        }
        return "rank \(victim): watchers \(seen.joined(separator: ", ")); reports held: "
            + (stuck.isEmpty ? "none" : stuck.joined(separator: "; "))
    }
}
