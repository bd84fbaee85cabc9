import Foundation
import Testing
import Topology

@testable import Control

/// The bootstrap scale simulation: the real agent state machines on a modelled cluster.
@Suite struct BootstrapSimulationTests {
    @Test(arguments: [1, 2, 7, 64, 300, 1000])
    func everyAgentIsWiredWithLogarithmicallyManyFrames(nodes: Int) throws {
        let outcome = try BootstrapSimulation.run(
            nodes: nodes, fanout: 2, model: .latencyOnly(link: .microseconds(25), spawn: .milliseconds(10)), cpu: .fixed(perEvent: .zero))
        #expect(outcome.wired != nil)
        #expect(outcome.notRunning.isEmpty)
        #expect(outcome.exits.isEmpty)
        // Subtree report up, the go down, wired count up, an introduction and a lookup and its answer per
        // binomial-graph jump: no address table of N endpoints.
        let log2 = Double((nodes + 1).bitWidth - (nodes).leadingZeroBitCount)
        #expect(outcome.received.meanFrames <= 6 + 2 * log2, "\(outcome.received)")
    }

    /// What an agent receives during bootstrap grows with log N, not N: 16 times the agents, at most
    /// log2(1025)/log2(65) times the frames and bytes (mean per agent; the controller, which collects the
    /// whole table, apart), and the busiest agent (introductions routed through it grow with the tree's height)
    /// at most twice the frames.
    @Test func receivedFramesAndBytesPerAgentGrowWithLogN() throws {
        func received(_ nodes: Int) throws -> SimulatedTraffic {
            try BootstrapSimulation.run(
                nodes: nodes, fanout: 4, model: .latencyOnly(link: .microseconds(25), spawn: .milliseconds(10)),
                cpu: .fixed(perEvent: .zero)).received
        }
        let small = try received(64)
        let large = try received(1024)
        let bound = log2(1025.0) / log2(65.0)
        #expect(large.meanFrames / small.meanFrames <= bound, "\(small) → \(large)")
        #expect(large.meanBytes / small.meanBytes <= bound, "\(small) → \(large)")
        #expect(large.maxFrames <= 2 * small.maxFrames, "\(small) → \(large)")
    }

    @Test(arguments: [(15, 2), (64, 2), (64, 8), (1000, 3)])
    func withSpawnTheOnlyCostTheBootstrapTakesOneSpawnPerTreeLevel(nodes: Int, fanout: Int) throws {
        let outcome = try BootstrapSimulation.run(
            nodes: nodes, fanout: fanout, model: .latencyOnly(link: .zero, spawn: .milliseconds(10)), cpu: .fixed(perEvent: .zero))
        let tree = try BootTree(kind: .tree(arity: fanout), nodeCount: nodes + 1)
        #expect(outcome.treeHeight == tree.height)
        #expect(outcome.wired == .milliseconds(10) * tree.height)
    }

    @Test func theCriticalPathGrowsWithTheTreeHeightNotWithTheAgentCount() throws {
        func wired(_ nodes: Int) throws -> Duration {
            let outcome = try BootstrapSimulation.run(
                nodes: nodes, fanout: 2, model: .latencyOnly(link: .microseconds(25), spawn: .milliseconds(10)), cpu: .fixed(perEvent: .zero))
            return try #require(outcome.wired)
        }
        let small = try wired(64)
        let large = try wired(1024)
        #expect(large > small)
        #expect(large / small < 3)
    }

    /// The event queue keeps a time as its components, compared as integers: it orders events as their
    /// `Duration`s would (to the attosecond), and events of the same time in the order they were scheduled.
    @Test func scheduledEventsOrderAsTheirTimes() {
        let times: [Duration] = [
            .seconds(2), .milliseconds(1500), .nanoseconds(1), .zero, Duration(secondsComponent: 1, attosecondsComponent: 1), .seconds(1),
        ]
        let entries = times.enumerated().map { SimulatedCluster.Scheduled(time: $1, order: $0, rank: 0, slot: 0) }
        #expect(entries.sorted().map(\.time) == times.sorted())
        #expect(entries.allSatisfy { $0.time == times[$0.order] })
        let first = SimulatedCluster.Scheduled(time: .seconds(1), order: 1, rank: 0, slot: 0)
        let second = SimulatedCluster.Scheduled(time: .seconds(1), order: 2, rank: 0, slot: 0)
        #expect(first < second && !(second < first))
    }

    @Test func aNodeRunsOneEventAtATime() throws {
        // With 1 ms per event and nothing else, the controller's children wait for it: the root of a
        // fanout-8 tree handles its children's links and reports in turn, so the job takes longer than
        // the same tree's path with the cost spread out would.
        let free = try BootstrapSimulation.run(nodes: 8, fanout: 8, model: .latencyOnly(link: .zero, spawn: .zero), cpu: .fixed(perEvent: .zero))
        let costly = try BootstrapSimulation.run(
            nodes: 8, fanout: 8, model: .latencyOnly(link: .zero, spawn: .zero), cpu: .fixed(perEvent: .milliseconds(1)))
        #expect(free.wired == .zero)
        let wired = try #require(costly.wired)
        // The controller alone handles 8 link-ups, 8 reports and 8 wired counts after its start.
        #expect(wired >= .milliseconds(25))
        #expect(costly.busiestNodeCPU >= .milliseconds(25))
    }

    @Test func measuredCPUMakesTheBootstrapSlowerThanItsCriticalPath() throws {
        let model = BootstrapModel()
        let measured = try BootstrapSimulation.run(nodes: 256, fanout: 2, model: model, cpu: .measured)
        let critical = try BootstrapSimulation.run(
            nodes: 256, fanout: 2, model: .latencyOnly(link: model.linkLatency, spawn: model.spawnLatency), cpu: .fixed(perEvent: .zero))
        #expect(measured.notRunning.isEmpty)
        #expect(try #require(measured.wired) > #require(critical.wired))
        #expect(measured.totalCPU > .zero)
    }
}
