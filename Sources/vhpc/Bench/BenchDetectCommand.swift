import ArgumentParser
import Control
import Foundation
import Launch
import Logging
import NodeAgent
import NIOConcurrencyHelpers
import Topology

/// `vhpc bench detect`: failure-detection latency after kill -9 and SIGSTOP against the heartbeat period,
/// detector message rate, and reachability after (degree − 1) random failures.
struct BenchDetectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "detect", abstract: "Failure detection latency and coverage.")

    @Option(help: "Trials per fault kind.") var trials: Int = 20
    @Option(help: "Nodes per trial job.") var nodes: Int = 8
    @Option(help: "Heartbeat period in milliseconds.") var period: Int = 500

    func run() async throws {
        LoggingSetup.bootstrap(verbose: false)
        ResourceLimits.raiseOpenFiles()
        signal(SIGPIPE, SIG_IGN)
        ProcessSpawner.becomeSubreaper()
        var rows = [["FAULT", "PERIOD", "MEDIAN", "P99", "MEDIAN/PERIOD", "P99/PERIOD", "TRIALS"]]
        for (name, sig) in [("kill -9", SIGKILL), ("SIGSTOP", SIGSTOP)] {
            var latencies: [Double] = []
            for trial in 0..<trials {
                if let latency = try await Self.trial(nodes: nodes, period: period, signal: sig, seed: trial) { latencies.append(latency) }
            }
            latencies.sort()
            let median = latencies.isEmpty ? .nan : latencies[latencies.count / 2]
            let p99 = latencies.isEmpty ? .nan : latencies[min(latencies.count - 1, Int(Double(latencies.count) * 0.99))]
            rows.append([
                name, "\(period) ms", String(format: "%.0f ms", median), String(format: "%.0f ms", p99),
                String(format: "%.2f", median / Double(period)), String(format: "%.2f", p99 / Double(period)), "\(latencies.count)",
            ])
        }
        print(TextTable.render(rows), terminator: "")

        print("\nDetector traffic (computed from the implemented scheme: both ends of each watched link ping once per")
        print("period and answer pings with pongs; watched = boot-tree links and ±1/±2 ring links, see HeartbeatWatchSet):")
        for size in [64, 1024] {
            let ranks = size + 1
            let tree = try BootTree(kind: .tree(arity: 2), nodeCount: ranks)
            let graph = try FailoverRouter.defaultFallbackGraph(for: tree)
            var watched = 0
            for link in graph.links where HeartbeatWatchSet.watches(Int(link.lower), Int(link.upper), tree: tree, rankCount: ranks) {
                watched += 1
            }
            let linksPerAgent = 2 * Double(graph.linkCount) / Double(ranks)
            let watchedPerAgent = 2 * Double(watched) / Double(ranks)
            // Per watched link and period each end sends one ping and one pong.
            let sentPerAgent = watchedPerAgent * 2 / (Double(period) / 1000)
            print(String(format: "  N=%d: %.1f links/agent, %.1f watched; %.1f detector messages sent per agent per second (as many received) at period %d ms",
                         size, linksPerAgent, watchedPerAgent, sentPerAgent, period))
        }

        print("\nReachability after killing (degree − 1) random agents (the agents' own routing graph: tree ∪ BMG):")
        var reach = [["N", "KILLED", "SURVIVORS", "REACHED", "SHARE (worst of 100)"]]
        for size in [64, 1024] {
            let graph = try FailoverRouter.defaultFallbackGraph(for: BootTree(kind: .tree(arity: 2), nodeCount: size + 1))
            let kill = try BinomialGraph(nodeCount: size + 1).degree - 1
            var worst = 1.0
            var rng = SplitMix64(seed: 42)
            var lastReached = 0
            for _ in 0..<100 {
                var victims = Set<Int>()
                while victims.count < kill { victims.insert(1 + rng.uniform(below: size)) }
                let surviving = try SurvivingGraph(graph: graph, failures: FailureSet(nodes: victims))
                let reached = surviving.reachable(from: 0).count
                lastReached = reached
                worst = min(worst, Double(reached) / Double(surviving.survivorCount))
            }
            reach.append(["\(size)", "\(kill)", "\(size + 1 - kill)", "\(lastReached)", String(format: "%.1f %%", worst * 100)])
        }
        print(TextTable.render(reach), terminator: "")
    }

    /// One job of `nodes` agents; after bootstrap, signals a random agent and measures the time until the
    /// controller reports it failed. Returns milliseconds.
    static func trial(nodes: Int, period: Int, signal: Int32, seed: Int) async throws -> Double? {
        var options = JobOptions(
            jobID: "detect-\(getpid())-\(seed)", nodeCount: nodes, taskCount: nodes, hosts: [], executable: "sleep",
            arguments: ["30"], workingDirectory: "/")
        options.heartbeat = .milliseconds(period)
        let killedAt = NIOLockedValueBox<ContinuousClock.Instant?>(nil)
        let latency = NIOLockedValueBox<Double?>(nil)
        let runner = JobRunner(options: options, spawner: LauncherAgentSpawner(launcher: LocalLauncher()), logger: Logger(label: "bench"))
        _ = try await runner.run(events: { event in
            switch event {
            case .bootstrapped(let agents, _):
                let victims = agents.filter { $0.rank != 0 }
                guard !victims.isEmpty else { return }
                let victim = victims[seed % victims.count]
                // The fault comes at a random moment in steady state (1 to 3 periods after the launch), not in
                // step with the detector's first ping.
                var rng = SplitMix64(seed: UInt64(seed) &+ 1)
                let delay = Duration.milliseconds(period + rng.uniform(below: 2 * period))
                Task {
                    try? await Task.sleep(for: delay)
                    killedAt.withLockedValue { $0 = .now }
                    kill(victim.pid, signal)
                }
            case .failure:
                if let start = killedAt.withLockedValue({ $0 }), latency.withLockedValue({ $0 }) == nil {
                    latency.withLockedValue { $0 = Double((ContinuousClock.now - start).milliseconds) }
                }
            default:
                break
            }
        })
        return latency.withLockedValue { $0 }
    }
}
