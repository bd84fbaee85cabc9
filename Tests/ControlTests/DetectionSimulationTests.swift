import Testing
import Topology
import Wire

@testable import Control

/// Detection and rerouting on the modelled cluster: the real agent state machines, agents killed or hung.
@Suite struct DetectionSimulationTests {
    static let model = BootstrapModel.latencyOnly(link: .microseconds(25), spawn: .milliseconds(10))

    @Test(arguments: DetectionSimulation.Fault.allCases)
    func everyFailedAgentIsDeclaredAndNoOther(fault: DetectionSimulation.Fault) throws {
        let outcome = try DetectionSimulation.run(
            nodes: 200, fanout: 4, model: Self.model, cpu: .fixed(perEvent: .zero), fault: fault, fraction: 0.02, period: .seconds(1))
        #expect(outcome.failed == 4)
        #expect(outcome.declared == 4)
        #expect(outcome.falsePositives == 0)
        // kill -9: the connection closes (and the parent's SIGCHLD fires) at once; a hung agent is silent for
        // a timeout (1.5 periods), suspected, and declared a timeout later.
        let bound: Duration = fault == .kill ? .milliseconds(10) : .seconds(4)
        #expect(outcome.maxLatency.map { $0 <= bound } == true, "\(String(describing: outcome.maxLatency))")
        // Both ends of each watched link (tree, ring ±1/±2) ping once per period and answer pings: a fixed
        // number of heartbeat frames per agent, not one growing with N.
        #expect(outcome.heartbeat.meanFrames >= 8 && outcome.heartbeat.meanFrames <= 20, "\(outcome.heartbeat)")
        #expect(outcome.exits.isEmpty)
    }

    /// A hung agent's watchers report it up the tree through an ancestor that hangs too just before (not known
    /// failed yet): the reports also go up a second way, so the agent is declared in about one detection time,
    /// not after that ancestor is itself found (before: 4.3 s here; 7.0 s for the slowest of 1,000 hung agents
    /// at 100,000 nodes in the model).
    @Test func aHungAgentIsDeclaredInTimeWhenTheWayUpOfItsWatchersHangsToo() throws {
        var wired = try SimulatedCluster(nodes: 300, fanout: 4, model: Self.model, cpu: .fixed(perEvent: .zero), heartbeat: .seconds(1))
        wired.run(goal: .wired)
        var cluster = DetectionSimulation.steadyState(from: wired, period: .seconds(1)).cluster
        let ancestor = 5
        let parent = cluster.tree.children(of: ancestor)[1]
        let victim = cluster.tree.children(of: parent)[1]
        // Every watcher of the victim (its parent and ring ±1, ±2) goes up the tree through `ancestor`.
        for watcher in [parent, victim - 2, victim - 1, victim + 1, victim + 2] {
            #expect(cluster.tree.isInSubtree(watcher, of: ancestor), "\(watcher)")
        }
        let hungAt = cluster.now
        cluster.hang(victim)
        cluster.run(until: hungAt + .seconds(2))
        cluster.hang(ancestor)
        cluster.run(until: hungAt + .seconds(20), goal: .declared)
        let declared = try #require(cluster.declared[victim], "\(cluster.whyUndeclared(victim))")
        #expect(declared - hungAt < .seconds(3), "declared \(declared - hungAt) after it hung")
        #expect(cluster.declared[ancestor] != nil)
        #expect(cluster.declared.count == 2)
    }

    /// The launch goes down the tree, one frame per agent; an interior agent killed just before it (nobody
    /// knows yet) does not keep it from its subtree: its children find it dead, ask the controller, and pass
    /// the launch down, and a later command reaches them too.
    @Test func everySurvivorGetsTheCommandsWhenAnInteriorAgentDiesAsTheyGoDown() throws {
        var wired = try SimulatedCluster(nodes: 300, fanout: 4, model: Self.model, cpu: .fixed(perEvent: .zero))
        wired.run(goal: .wired)
        var quiet = wired
        let framesBefore = quiet.frames
        quiet.launch(at: quiet.now)
        quiet.run(until: quiet.now + .seconds(1))
        #expect(quiet.frames - framesBefore == 300, "one launch frame per agent")
        #expect((1...300).allSatisfy { quiet.machine($0)?.commands.count == 1 })

        var cluster = wired
        let victim = 6
        let subtree = (1...300).filter { $0 != victim && cluster.tree.isInSubtree($0, of: victim) }
        #expect(subtree.count >= 20)
        cluster.kill(victim)
        cluster.launch(at: cluster.now + .microseconds(1))
        cluster.run(until: cluster.now + .seconds(3))
        let survivors = (1...300).filter { $0 != victim }
        let missing = survivors.filter { cluster.machine($0)?.commands.count != 1 }
        #expect(missing.isEmpty, "no launch at \(missing)")
        cluster.schedule(.event(.broadcast(.control(ControlCommand(id: 2, operation: .signal(10))))), at: 0, time: cluster.now)
        cluster.run(until: cluster.now + .seconds(1))
        let missingSignal = survivors.filter { cluster.machine($0)?.commands.count != 2 }
        #expect(missingSignal.isEmpty, "no signal at \(missingSignal)")
        #expect(cluster.exits.isEmpty, "\(cluster.exits)")
    }

    /// A parent hung before a launch that comes after wiring (no heartbeat runs before the launch, so its
    /// children never notice): the parent's own watchers report it, and the controller sends the launch to its
    /// children itself. Found in review: 20 of 20 agents below it never got the launch, even after 30 s.
    @Test func theSubtreeOfAParentHungBeforeTheLaunchGetsTheLaunch() throws {
        var cluster = try SimulatedCluster(nodes: 300, fanout: 4, model: Self.model, cpu: .fixed(perEvent: .zero), heartbeat: .seconds(1))
        cluster.run(goal: .wired)
        let victim = 6
        cluster.hang(victim)
        cluster.launch(at: cluster.now + .microseconds(1))
        cluster.run(until: cluster.now + .seconds(10))
        #expect(cluster.declared[victim] != nil)
        let subtree = (1...300).filter { $0 != victim && cluster.tree.isInSubtree($0, of: victim) }
        let missing = subtree.filter { cluster.machine($0)?.commands.count != 1 }
        #expect(missing.isEmpty, "no launch at \(missing)")
        #expect(cluster.exits.isEmpty, "\(cluster.exits)")
    }

    @Test(arguments: DetectionSimulation.Pattern.allCases)
    func reportsFromEverySurvivorReachTheControllerAfterDegreeMinusOneFailures(pattern: DetectionSimulation.Pattern) throws {
        let outcome = try DetectionSimulation.reroute(nodes: 300, fanout: 4, model: Self.model, cpu: .fixed(perEvent: .zero), pattern: pattern)
        #expect(outcome.failed == 17)  // the binomial graph of 301 ranks has degree 18
        #expect(outcome.reached == outcome.survivors, "unreached: \(outcome.unreached)")
        #expect(outcome.exits.isEmpty)
    }
}

/// The simulator's own machinery: its event queue and its scenarios run side by side.
@Suite struct SimulatorMachineryTests {
    @Test func theEventQueueGivesEventsInTimeOrderAndTiesInTheOrderScheduled() {
        var queue = EventQueue()
        var random = SplitMix64(seed: 7)
        var expected: [SimulatedCluster.Scheduled] = []
        for order in 0..<2_000 {
            // Few distinct times: many ties, which must come out in scheduling order.
            let event = SimulatedCluster.Scheduled(time: .microseconds(Int64(random.next() % 50)), order: order, rank: 0, slot: Int32(order))
            queue.insert(event)
            expected.append(event)
        }
        var taken: [SimulatedCluster.Scheduled] = []
        while let next = queue.removeMin() { taken.append(next) }
        #expect(taken.map(\.order) == expected.sorted().map(\.order))
        #expect(queue.isEmpty && queue.removeMin() == nil)
    }

    @Test func scenariosRunSideBySideGiveWhatTheyGiveOneByOne() throws {
        let model = DetectionSimulationTests.model
        let together = try DetectionSimulation.run(
            nodes: 100, fanout: 4, model: model, cpu: .fixed(perEvent: .microseconds(3)), faults: [.kill, .hang], fraction: 0.03)
        for (fault, outcome) in zip([DetectionSimulation.Fault.kill, .hang], together) {
            let alone = try DetectionSimulation.run(
                nodes: 100, fanout: 4, model: model, cpu: .fixed(perEvent: .microseconds(3)), fault: fault, fraction: 0.03)
            #expect(outcome.declared == alone.declared && outcome.failed == alone.failed)
            #expect(outcome.medianLatency == alone.medianLatency && outcome.maxLatency == alone.maxLatency, "\(fault)")
            #expect(outcome.afterFailures == alone.afterFailures)
        }
        #expect(try Scenarios.run(Array(0..<8)) { $0 * $0 } == (0..<8).map { $0 * $0 })
    }

    /// A scenario may queue others (the runs that go on from the state it reached): they run too, the ones
    /// queued first ahead of those waiting (in the order they were queued), and the first error any of them throws is rethrown.
    @Test func queuedScenariosRunWhatTheyQueueAndRethrowTheFirstError() throws {
        struct Failed: Error {}
        /// What ran, in the order it ran (one thread).
        final class Log: @unchecked Sendable { var ran: [Int] = [] }
        let results = Scenarios.Slots<Int>(count: 5)
        let log = Log()
        let queue = Scenarios.Queue()
        func record(_ index: Int, _ value: Int) {
            results[index] = value
            log.ran.append(index)
        }
        queue.add { queue in
            record(0, 10)
            queue.add(first: true) { _ in record(3, 13) }
            queue.add(first: true) { _ in record(4, 14) }  // after the one queued first before it
        }
        queue.add { _ in record(1, 11) }
        queue.add { _ in record(2, 12) }
        try queue.drain(threads: 1)  // one thread: the follow-up goes before the scenarios still waiting
        #expect(results.values == [10, 11, 12, 13, 14])
        #expect(log.ran == [0, 3, 4, 1, 2])
        let failing = Scenarios.Queue()
        failing.add { queue in queue.add { _ in throw Failed() } }
        failing.add { _ in }
        #expect(throws: Failed.self) { try failing.drain(threads: 2) }
    }
}
