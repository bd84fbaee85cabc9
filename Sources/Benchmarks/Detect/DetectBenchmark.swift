import Control
import Foundation
import HostProcess
import Launch
import Logging
import NIOConcurrencyHelpers
import NodeAgent
import TextReport
import Topology

/// `vhpc bench detect`: failure-detection latency after kill -9 and SIGSTOP against the heartbeat period,
/// detector message rate, and reachability after (degree − 1) random failures.
public struct DetectBenchmark: Sendable {
    public var trials: Int
    public var nodes: Int
    public var period: Int
    public var trafficNodes: Int
    public var trafficPeriod: Int

    public init(trials: Int, nodes: Int, period: Int, trafficNodes: Int, trafficPeriod: Int) {
        self.trials = trials
        self.nodes = nodes
        self.period = period
        self.trafficNodes = trafficNodes
        self.trafficPeriod = trafficPeriod
    }

    static let trafficPeriods = 5

    public func run() async throws {
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

        print("\nDetector traffic counted on the wire: a real job of \(trafficNodes) agents, one per process, tasks sleeping,")
        print("heartbeat \(trafficPeriod) ms; TCP payload bytes and data segments (frames) each agent process read in \(Self.trafficPeriods) periods")
        print("of steady state, read off its sockets (ss -tinp), per period:")
        let counted = try await Self.countedTraffic(nodes: trafficNodes, period: trafficPeriod)
        if let traffic = counted.traffic, !traffic.isEmpty, counted.failures.isEmpty {
            let periods = Double(Self.trafficPeriods)
            let segments = traffic.map { Double($0.segments) / periods }.sorted()
            let bytes = traffic.map { Double($0.bytes) / periods }.sorted()
            print(String(format: "  N=%d: %.1f frames, %.0f B per agent per period (median %.1f frames, %.0f B; max %.1f frames, %.0f B; %d agent processes)",
                         trafficNodes, segments.reduce(0, +) / Double(segments.count), bytes.reduce(0, +) / Double(bytes.count),
                         segments[segments.count / 2], bytes[bytes.count / 2], segments.last!, bytes.last!, traffic.count))
        } else if let bootstrap = counted.bootstrapTime {
            let failures = counted.failures.prefix(3).map(\.description).joined(separator: "; ")
            print("  N=\(trafficNodes): bootstrapped in \(benchSeconds(bootstrap)), then \(counted.failures.count) agents declared failed"
                  + " before or while sampling (\(failures.isEmpty ? "job ended, status \(counted.exitCode)" : failures)); no figures")
        } else {
            print("  N=\(trafficNodes): the job did not bootstrap (status \(counted.exitCode)\(counted.failures.first.map { ": \($0)" } ?? "")); no figures")
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

    /// A real job of `nodes` agents, one per process, tasks sleeping: what each agent process received over its
    /// TCP sockets in ``trafficPeriods`` periods of steady state (only heartbeats flow then), with how the job went
    /// (a sample with agents declared failed counts their failure traffic too, and is not reported).
    static func countedTraffic(nodes: Int, period: Int) async throws
        -> (traffic: [(bytes: Int, segments: Int)]?, bootstrapTime: Duration?, failures: [FailureNotice], exitCode: Int32) {
        var options = JobOptions(
            jobID: "detect-traffic-\(getpid())", nodeCount: nodes, taskCount: nodes, hosts: [], executable: "sleep",
            arguments: ["600"], workingDirectory: "/")
        options.heartbeat = .milliseconds(period)
        options.agentsPerProcess = 1
        options.handshakeWindow = .seconds(60)
        let jobID = options.jobID
        let interrupter = NIOLockedValueBox<JobRunner.Interrupter?>(nil)
        let result = NIOLockedValueBox<[(bytes: Int, segments: Int)]?>(nil)
        // Failures declared before the second sample (the interrupt that ends the job comes after it).
        let failures = NIOLockedValueBox<(list: [FailureNotice], sampled: Bool)>(([], false))
        let runner = JobRunner(options: options, spawner: LauncherAgentSpawner(launcher: LocalLauncher()), logger: Logger(label: "bench"))
        let outcome = try await runner.run(events: { event in
            if case .failure(let notice) = event {
                failures.withLockedValue { if !$0.sampled { $0.list.append(notice) } }
            }
            guard case .bootstrapped = event else { return }
            Task {
                // Tasks started and every detector armed: 3 periods, and at least 3 s on a busy host.
                try? await Task.sleep(for: .milliseconds(max(3 * period, 3000)))
                let pids = JobProcessScan.agentProcesses(of: jobID, below: getpid())
                let first = try? WireTrafficSample.take(pids: Set(pids))
                try? await Task.sleep(for: .milliseconds(trafficPeriods * period))
                let second = try? WireTrafficSample.take(pids: Set(pids))
                failures.withLockedValue { $0.sampled = true }
                if let first, let second { result.withLockedValue { $0 = second.since(first, pids: pids) } }
                interrupter.withLockedValue { $0 }?.interrupt(signal: SIGTERM)
            }
        }, ready: { stop in interrupter.withLockedValue { $0 = stop } })
        return (result.withLockedValue { $0 }, outcome.bootstrapTime, failures.withLockedValue { $0.list }, outcome.exitCode)
    }
}
