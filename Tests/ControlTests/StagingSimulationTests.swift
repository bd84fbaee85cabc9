import Testing
import Topology

@testable import Control

/// Staging on the modelled cluster: the real staging machines inside the agents, a scaled file, links with
/// bandwidth, and the pipelined tree's bound.
@Suite struct StagingSimulationTests {
    /// 10 Gbit/s links, no CPU: only the network (and, where set, disks and hashing) takes time.
    static var model: BootstrapModel {
        var model = BootstrapModel.latencyOnly(link: .microseconds(25), spawn: .milliseconds(10))
        model.bandwidth = 1.25e9
        return model
    }

    @Test(arguments: [(nodes: 1, fanout: 4), (nodes: 21, fanout: 4), (nodes: 40, fanout: 2), (nodes: 100, fanout: 4)])
    func everyNodeCommitsEveryChunkNoSoonerThanTheTreeBound(nodes: Int, fanout: Int) throws {
        let staging = StagingModel(size: 64 << 20, chunkSize: 4 << 20)
        let outcome = try StagingSimulation.run(nodes: nodes, fanout: fanout, model: Self.model, cpu: .fixed(perEvent: .zero), staging: staging)
        #expect(outcome.chunks == 16)
        #expect(outcome.committed == nodes)
        #expect(outcome.complete == nodes)  // every node's machine holds every chunk, verified
        #expect(outcome.failed.isEmpty && outcome.exits.isEmpty, "\(outcome.failed) \(outcome.exits)")
        let staged = try #require(outcome.staged)
        let bound = try StagingSimulation.bound(nodes: nodes, fanout: fanout, model: Self.model, staging: staging)
        #expect(staged >= bound, "staged in \(staged), bound \(bound)")
        // Pipelined: at most a chunk to each child per level beyond the bound, not the whole file per level,
        // and an acknowledgement's round trip per level (they go every half window: a feeder may send a chunk a
        // trip later than with one per chunk).
        let chunkTime = Duration.seconds(Double(staging.chunkSize) / Self.model.bandwidth)
        let height = try BootTree(kind: .tree(arity: fanout), nodeCount: nodes + 1).height
        let slack = chunkTime * (fanout * height) + Self.model.linkLatency * (2 * height)
        #expect(staged <= bound + slack, "staged in \(staged), bound \(bound)")
        // Acknowledgements every half window (4 chunks of 16), not every chunk: with 16 chunks and their
        // frames, a node reads fewer than 16 + 16 frames.
        #expect(outcome.received.meanFrames < 28, "\(outcome.received)")
        #expect(try #require(outcome.reported) >= staged)
        // Each node reads the file once (modelled chunk sizes), plus small control frames.
        #expect(outcome.received.meanBytes >= Double(staging.size) && outcome.received.maxBytes < Int(staging.size) + (1 << 20))
    }

    @Test func theBoundCountsEachChildsCopyOnTheFeedersInterface() throws {
        let model = Self.model
        let staging = StagingModel(size: 1 << 30, chunkSize: 64 << 20)
        // 100,000 nodes, fanout 4: height 9; the file goes 4 times through each interior node's interface.
        let bound = try StagingSimulation.bound(nodes: 100_000, fanout: 4, model: model, staging: staging)
        let fileTime: Double = Double(1 << 30) * 4 / 1.25e9
        let fillTime: Double = 8 * Double(64 << 20) / 1.25e9
        let expected: Duration = .seconds(fileTime + fillTime) + model.linkLatency * 9
        let difference: Double = (bound - expected) / .seconds(1)
        #expect(abs(difference) < 1e-6, "\(bound) vs \(expected)")
    }

    @Test func slowDisksAndHashingSlowStagingDown() throws {
        let fast = StagingModel(size: 64 << 20, chunkSize: 4 << 20)
        var slow = fast
        slow.diskBandwidth = 0.25e9  // a fifth of the link: the disks set the pace
        slow.hashRate = 1e9
        let quick = try StagingSimulation.run(nodes: 21, fanout: 4, model: Self.model, cpu: .fixed(perEvent: .zero), staging: fast)
        let throttled = try StagingSimulation.run(nodes: 21, fanout: 4, model: Self.model, cpu: .fixed(perEvent: .zero), staging: slow)
        #expect(throttled.committed == 21)
        // 64 MiB written at 250 MB/s takes 0.27 s on every node.
        #expect(try #require(throttled.staged) >= .seconds(Double(64 << 20) / 0.25e9))
        #expect(try #require(throttled.staged) > #require(quick.staged))
    }
}
