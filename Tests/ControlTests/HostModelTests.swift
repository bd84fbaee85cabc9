import Foundation
import Testing
import Topology

@testable import Control

/// The bootstrap model of one host (`vhpc bench bootstrap-validate`): shared cores, packed processes.
@Suite struct HostModelTests {
    func wired(_ nodes: Int, cores: Int?, perProcess: Int, spawn: Duration = .milliseconds(10), perEvent: Duration = .microseconds(50)) throws -> Duration {
        var model = BootstrapModel(linkLatency: .microseconds(25), bandwidth: .infinity, spawnLatency: spawn, spawnCPU: .zero, frameCPU: .zero)
        model.hostCores = cores
        model.agentsPerProcess = perProcess
        let outcome = try BootstrapSimulation.run(nodes: nodes, fanout: 4, model: model, cpu: .fixed(perEvent: perEvent))
        #expect(outcome.notRunning.isEmpty && outcome.exits.isEmpty)
        return try #require(outcome.wired)
    }

    @Test func sharedCoresMakeEveryAgentsWorkAddUp() throws {
        let cluster = try wired(256, cores: nil, perProcess: 1)
        let oneHost = try wired(256, cores: 2, perProcess: 1)
        let oneCore = try wired(256, cores: 1, perProcess: 1)
        #expect(oneHost > cluster)
        #expect(oneCore > oneHost)
        // On one core, the events of every agent run one after another: at least every agent's share.
        #expect(oneCore >= .microseconds(50) * 257 * 3, "\(oneCore)")
    }

    @Test func agentsOfOneProcessStartWithItAndNeedNoSocket() throws {
        // Everything in one process below the front-end: one spawn, no tree of spawns.
        let packed = try wired(64, cores: nil, perProcess: 256, perEvent: .zero)
        let tree = try wired(64, cores: nil, perProcess: 1, perEvent: .zero)
        #expect(packed < .milliseconds(11), "\(packed)")
        #expect(tree >= .milliseconds(30), "\(tree)")  // a spawn per level of a 4-ary tree of 65 ranks (height 3)
    }

    @Test func packingFollowsTheChunkPlanProcesses() throws {
        var model = BootstrapModel.latencyOnly(link: .microseconds(25), spawn: .milliseconds(10))
        model.agentsPerProcess = 64
        let cluster = try SimulatedCluster(nodes: 300, fanout: 4, model: model, cpu: .fixed(perEvent: .zero))
        let processes = ChunkPlan.processes(tree: cluster.tree, agentsPerProcess: 64)
        for (index, hosted) in processes.enumerated() {
            for rank in hosted { #expect(cluster.processOf[rank] == Int32(index)) }
        }
        #expect(cluster.processRoots.count == processes.count)
    }
}
