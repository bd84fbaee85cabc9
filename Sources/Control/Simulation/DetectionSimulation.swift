import Topology

/// Scale simulation of failure detection and rerouting (never used by `vhpc run`): the real ``AgentMachine``s
/// on a ``SimulatedCluster``, bootstrapped and launched, then some agents killed (links close, SIGCHLD) or
/// hung (silent, links open), with the heartbeat detector, the connection-close and SIGCHLD detectors, the
/// failure reports and the routing as the agents run them.
public enum DetectionSimulation {
    /// How the failed agents fail.
    public enum Fault: String, Sendable, CaseIterable {
        /// kill -9: the process is gone, its connections close, dials are refused.
        case kill
        /// kill -STOP: the process stays, silent; its connections stay open.
        case hang

        /// Whether its run takes longer (a hang is declared after periods of silence, a kill at once): queued first.
        var runsLonger: Bool { self == .hang }
    }

    /// How a simulated detection went.
    public struct Outcome: Sendable {
        /// Virtual time until wired, and from the launch until the detectors ran.
        public var wired: Duration?
        /// Agents failed on purpose, those the controller declared, and agents declared that had not failed.
        public var failed: Int
        public var declared: Int
        public var falsePositives: Int
        /// Time from the failures until the controller declared each one: median and largest.
        public var medianLatency: Duration?
        public var maxLatency: Duration?
        /// Heartbeat frames (pings and pongs) and bytes each node's agent received in one period of steady
        /// state (from the instant of the failures, on a copy without them): mean and largest.
        public var heartbeat: SimulatedTraffic
        /// Frames and bytes besides heartbeats each surviving node's agent received from the failures until
        /// the last was declared: mean and largest.
        public var afterFailures: SimulatedTraffic
        /// Agents that exited on their own (cut off, or declared failed).
        public var exits: [String]
        /// Failed agents the controller did not declare, each with who watched it and where the reports about
        /// it stopped (``SimulatedCluster/whyUndeclared(_:)``).
        public var undeclared: [String] = []
        /// The simulator's own thread CPU on this outcome's path: the bootstrap, the steady state, this run.
        public var simulation = SimulationCPU()
    }

    /// Thread CPU the simulator spent on the stages of one scenario, one after the other: on a quiet host its
    /// wall time, whatever else ran beside it (the figures of the command's slowest scenario are its
    /// critical path).
    public struct SimulationCPU: Sendable {
        public var bootstrap: Duration = .zero
        public var steadyState: Duration = .zero
        public var run: Duration = .zero
        public var total: Duration { bootstrap + steadyState + run }
    }

    /// `work`'s result and the thread CPU it took.
    static func timed<T>(_ work: () throws -> T) rethrows -> (T, Duration) {
        let started = SimulatedCluster.threadCPUTime()
        let result = try work()
        return (result, SimulatedCluster.threadCPUTime() - started)
    }

    /// Bootstraps `nodes` agents, launches, waits a period, fails `fraction` of them (`fault`, at random,
    /// never the controller), and runs until the controller has declared them all or `limit` periods passed.
    public static func run(
        nodes: Int, fanout: Int, model: BootstrapModel, cpu: BootstrapCPU, fault: Fault, fraction: Double,
        period: Duration = .seconds(1), seed: UInt64 = 1, limit: Int = 20
    ) throws -> Outcome {
        try run(nodes: nodes, fanout: fanout, model: model, cpu: cpu, faults: [fault], fraction: fraction, period: period, seed: seed,
                limit: limit)[0]
    }

    /// As ``run(nodes:fanout:model:cpu:fault:fraction:period:seed:limit:)`` for each of `faults`, from one
    /// bootstrap and steady state: each fault runs on its own copy of the cluster as it stood (the same victims),
    /// the faults side by side (``Scenarios``).
    public static func run(
        nodes: Int, fanout: Int, model: BootstrapModel, cpu: BootstrapCPU, faults: [Fault], fraction: Double,
        period: Duration = .seconds(1), seed: UInt64 = 1, limit: Int = 20
    ) throws -> [Outcome] {
        try run(nodes: nodes, fanout: fanout, model: model, cpu: cpu, faults: faults, fraction: fraction, period: period, seed: seed,
                limit: limit, patterns: []).detection
    }

    /// Detection (each of `faults`) and rerouting (each of `patterns`) from one bootstrap: the rerouting runs
    /// on copies of the cluster as it stood when wired (``reroute(from:pattern:)``), the detection on another
    /// (launched and run for a period, then each fault, and a period of steady state measured for its
    /// heartbeats, on a copy of it), all side by side (``Scenarios``).
    public static func run(
        nodes: Int, fanout: Int, model: BootstrapModel, cpu: BootstrapCPU, faults: [Fault], fraction: Double,
        period: Duration = .seconds(1), seed: UInt64 = 1, limit: Int = 20, patterns: [Pattern]
    ) throws -> (detection: [Outcome], rerouting: [RerouteOutcome]) {
        let (cluster, bootstrapCPU) = try timed {
            var cluster = try SimulatedCluster(nodes: nodes, fanout: fanout, model: model, cpu: cpu, heartbeat: period, seed: seed)
            cluster.run(goal: .wired)
            return cluster
        }
        guard cluster.wired != nil else {
            return (faults.map { _ in
                Outcome(wired: nil, failed: 0, declared: 0, falsePositives: 0, heartbeat: .init(), afterFailures: .init(), exits: cluster.exits)
            }, patterns.map { _ in RerouteOutcome(failed: 0, survivors: 0, reached: 0, unreached: [], exits: cluster.exits) })
        }
        // One thread per core takes the next scenario: the detection's launch (which then queues each fault
        // and the measured period, each on a copy of the launched cluster, first in line, the longest first)
        // and the rerouting patterns.
        let wired = Scenarios.SharedStart(consume cluster, users: (faults.isEmpty ? 0 : 1) + patterns.count)
        let detection = Scenarios.Slots<Outcome>(count: faults.count)
        let rerouting = Scenarios.Slots<RerouteOutcome>(count: patterns.count)
        let queue = Scenarios.Queue()
        let heartbeat = Scenarios.Slots<SimulatedTraffic>(count: 1)
        if !faults.isEmpty {
            queue.add { queue in
                // Launched and run for a period: the faults, and the period of steady state measured for its
                // heartbeats, then go on side by side from there, each on its own copy.
                let (launched, steadyCPU) = timed { warmUp(from: wired.take(), period: period) }
                let steady = Scenarios.SharedStart(consume launched, users: faults.count + 1)
                // The longest first: `first` scenarios run in the order they were queued (a kill queued ahead of
                // the hang once kept the hang, the command's critical path, waiting 3 s for it at 100,000).
                for index in faults.indices.sorted(by: { faults[$0].runsLonger && !faults[$1].runsLonger }) {
                    queue.add(first: true) { _ in
                        let (result, runCPU) = timed { fail(steady.take(), fault: faults[index], fraction: fraction, period: period, limit: limit) }
                        var outcome = result
                        outcome.simulation = SimulationCPU(bootstrap: bootstrapCPU, steadyState: steadyCPU, run: runCPU)
                        detection[index] = outcome
                    }
                }
                queue.add(first: true) { _ in heartbeat[0] = measureHeartbeats(steady.take(), period: period).heartbeat }
            }
        }
        for index in patterns.indices {
            queue.add { _ in
                let (result, runCPU) = try timed { try reroute(from: wired.take(), pattern: patterns[index]) }
                var outcome = result
                outcome.simulation = SimulationCPU(bootstrap: bootstrapCPU, run: runCPU)
                rerouting[index] = outcome
            }
        }
        try queue.drain()
        let outcomes = detection.values.map { outcome in
            var outcome = outcome
            outcome.heartbeat = heartbeat[0]!
            return outcome
        }
        return (outcomes, rerouting.values)
    }

    /// A launched cluster in steady state, and the heartbeats each node's agent received in one period of it.
    struct SteadyState {
        var cluster: SimulatedCluster
        var heartbeat: SimulatedTraffic
    }

    /// Launches the wired `cluster` and runs it to steady state, measuring a period's heartbeats.
    static func steadyState(from cluster: consuming SimulatedCluster, period: Duration) -> SteadyState {
        measureHeartbeats(warmUp(from: cluster, period: period), period: period)
    }

    /// Launches the wired `cluster` and runs it for a period: every detector armed and pinging (the launch
    /// reaches every agent within milliseconds, each pings at its first tick after), the launch's burst
    /// behind them.
    static func warmUp(from cluster: consuming SimulatedCluster, period: Duration) -> SimulatedCluster {
        let wired = cluster.wired!
        cluster.launch(at: wired)
        cluster.run(until: wired + period)
        return cluster
    }

    /// Runs the launched `cluster` one more period, counting the heartbeats each node's agent receives.
    static func measureHeartbeats(_ cluster: consuming SimulatedCluster, period: Duration) -> SteadyState {
        let windowStart = cluster.wired! + period
        let framesBefore = cluster.heartbeatFramesIn
        let bytesBefore = cluster.heartbeatBytesIn
        cluster.run(until: windowStart + period)
        let heartbeat = SimulatedCluster.traffic(
            frames: zip(cluster.heartbeatFramesIn, framesBefore).map { $0 - $1 },
            bytes: zip(cluster.heartbeatBytesIn, bytesBefore).map { $0 - $1 }, ranks: Array(1..<cluster.rankCount))
        return SteadyState(cluster: cluster, heartbeat: heartbeat)
    }

    /// Fails the victims of the launched `cluster` (a copy of it) with `fault` and runs until the controller
    /// has declared them all or `limit` periods passed (the outcome's heartbeats are the caller's to fill in).
    static func fail(_ cluster: consuming SimulatedCluster, fault: Fault, fraction: Double, period: Duration, limit: Int) -> Outcome {
        let wired = cluster.wired!
        let nodes = cluster.rankCount - 1
        let nodesOnly = 1..<cluster.rankCount
        let failedAt = cluster.now
        let victims = cluster.randomRanks(max(1, Int((Double(nodes) * fraction).rounded())))
        for rank in victims {
            switch fault {
            case .kill: cluster.kill(rank)
            case .hang: cluster.hang(rank)
            }
        }
        let otherFrames = { (cluster: SimulatedCluster) in zip(cluster.framesIn, cluster.heartbeatFramesIn).map { $0 - $1 } }
        let otherBytes = { (cluster: SimulatedCluster) in zip(cluster.bytesIn, cluster.heartbeatBytesIn).map { $0 - $1 } }
        let framesBeforeFailures = otherFrames(cluster)
        let bytesBeforeFailures = otherBytes(cluster)
        cluster.run(until: failedAt + period * limit, goal: .declared)
        let survivors = nodesOnly.filter { cluster.nodes[$0].health == .up }
        let after = SimulatedCluster.traffic(
            frames: zip(otherFrames(cluster), framesBeforeFailures).map { $0 - $1 },
            bytes: zip(otherBytes(cluster), bytesBeforeFailures).map { $0 - $1 }, ranks: survivors)
        let latencies = victims.compactMap { cluster.declared[$0].map { $0 - failedAt } }.sorted()
        let falsePositives = cluster.declared.keys.filter { !cluster.victims.contains($0) }.count
        return Outcome(
            wired: wired, failed: victims.count, declared: latencies.count, falsePositives: falsePositives,
            medianLatency: latencies.isEmpty ? nil : latencies[latencies.count / 2], maxLatency: latencies.last,
            heartbeat: SimulatedTraffic(), afterFailures: after, exits: cluster.exits,
            undeclared: victims.filter { cluster.declared[$0] == nil }.map { cluster.whyUndeclared($0) })
    }

    /// How a simulated rerouting went.
    public struct RerouteOutcome: Sendable {
        /// Agents killed, surviving nodes, and survivors whose report reached the controller.
        public var failed: Int
        public var survivors: Int
        public var reached: Int
        /// Surviving nodes whose report did not arrive.
        public var unreached: [Int]
        /// Agents that exited on their own.
        public var exits: [String]
        /// The simulator's own thread CPU on this outcome's path: the bootstrap, this run.
        public var simulation = SimulationCPU()
    }

    /// Which degree − 1 agents fail.
    public enum Pattern: String, Sendable, CaseIterable {
        /// degree − 1 of one agent's neighbours (it keeps the others): the binomial graph's worst case for it.
        case neighbours
        /// degree − 1 agents at random.
        case random
    }

    /// Bootstraps `nodes` agents, kills degree − 1 of them (the binomial graph's degree), lets the detectors
    /// and reports settle, then has every surviving node report to the controller (as a task exit) and counts
    /// the reports that arrive, routed around the failures by the agents themselves.
    public static func reroute(
        nodes: Int, fanout: Int, model: BootstrapModel, cpu: BootstrapCPU, pattern: Pattern, seed: UInt64 = 1
    ) throws -> RerouteOutcome {
        try run(nodes: nodes, fanout: fanout, model: model, cpu: cpu, faults: [], fraction: 0, seed: seed, patterns: [pattern]).rerouting[0]
    }

    /// Rerouting on a copy of the `wired` cluster (its agents ticking, their heartbeat detectors not armed: no
    /// launch): a tenth of a second on, degree − 1 agents of `pattern` are killed; three seconds later (the
    /// connection-close detectors' refused redials at once, the other ends' relink window of 2 s) every
    /// surviving node reports to the controller, which is given up to two seconds to have them all.
    static func reroute(from cluster: consuming SimulatedCluster, pattern: Pattern) throws -> RerouteOutcome {
        cluster.run(until: cluster.wired! + .milliseconds(100))
        let degree = try BinomialGraph(nodeCount: cluster.rankCount).degree
        var victims: [Int]
        switch pattern {
        case .random:
            victims = cluster.randomRanks(degree - 1)
        case .neighbours:
            let center = cluster.randomRanks(1)[0]
            var neighbours = try LocalRouter(rank: center, tree: cluster.tree).neighbors().filter { $0 != 0 }
            // Shuffle (Fisher-Yates, seeded), keep the first degree − 1.
            for index in neighbours.indices.reversed() where index > 0 {
                neighbours.swapAt(index, Int(cluster.random.next() % UInt64(index + 1)))
            }
            victims = Array(neighbours.prefix(degree - 1))
        }
        for rank in victims { cluster.kill(rank) }
        // Detection: refused redials at once, the other ends after the relink window (2 s).
        cluster.run(until: cluster.now + .seconds(3))
        let reportAt = cluster.now
        let survivors = (1..<cluster.rankCount).filter { cluster.nodes[$0].health == .up }
        for rank in survivors {
            cluster.schedule(.event(.taskExited(task: rank - 1, status: 0, message: "")), at: rank, time: reportAt)
        }
        cluster.run(until: reportAt + .seconds(2), goal: .reports(survivors.count))
        let unreached = survivors.filter { !cluster.reports.contains($0) }
        return RerouteOutcome(
            failed: victims.count, survivors: survivors.count, reached: survivors.count - unreached.count, unreached: unreached,
            exits: cluster.exits)
    }
}
