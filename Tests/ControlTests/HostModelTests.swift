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

    /// Other load on the host leaves the job half of each core: its CPU bursts take twice as long on the
    /// virtual clock, and its CPU stays what it was.
    @Test func aSmallerCoreShareStretchesTheCPUNotItsAmount() throws {
        func run(share: Double) throws -> BootstrapSimulation.Outcome {
            var model = BootstrapModel(linkLatency: .zero, bandwidth: .infinity, spawnLatency: .zero, spawnCPU: .zero, frameCPU: .zero)
            model.hostCores = 2
            model.agentsPerProcess = 256
            model.cpuShare = share
            return try BootstrapSimulation.run(nodes: 64, fanout: 4, model: model, cpu: .fixed(perEvent: .microseconds(50)))
        }
        let idle = try run(share: 1)
        let loaded = try run(share: 0.5)
        #expect(abs(loaded.totalCPU / idle.totalCPU - 1) < 1e-6, "\(loaded.totalCPU) against \(idle.totalCPU)")
        let ratio = try #require(loaded.wired) / #require(idle.wired)
        #expect(abs(ratio - 2) < 1e-6, "\(ratio)")
    }

    /// On a busy host the model has more, slower, cores than the host has; one process still runs on no more
    /// threads than it has (its event loops).
    @Test func oneProcessRunsOnNoMoreCoresThanItHasThreads() throws {
        func run(threads: Int?) throws -> Duration {
            var model = BootstrapModel(linkLatency: .zero, bandwidth: .infinity, spawnLatency: .zero, spawnCPU: .zero, frameCPU: .zero)
            model.hostCores = 8
            model.agentsPerProcess = 256
            model.threadsPerProcess = threads
            let outcome = try BootstrapSimulation.run(nodes: 64, fanout: 4, model: model, cpu: .fixed(perEvent: .microseconds(50)))
            #expect(outcome.notRunning.isEmpty && outcome.exits.isEmpty)
            return try #require(outcome.wired)
        }
        let unlimited = try run(threads: nil)
        let twoThreads = try run(threads: 2)
        let eightThreads = try run(threads: 8)
        #expect(twoThreads > unlimited, "\(twoThreads) against \(unlimited)")
        #expect(eightThreads == unlimited)
    }

    @Test func agentsOfOneProcessStartWithItAndNeedNoSocket() throws {
        // Everything in one process below the front-end: one spawn, no tree of spawns.
        let packed = try wired(64, cores: nil, perProcess: 256, perEvent: .zero)
        let tree = try wired(64, cores: nil, perProcess: 1, perEvent: .zero)
        #expect(packed < .milliseconds(11), "\(packed)")
        #expect(tree >= .milliseconds(30), "\(tree)")  // a spawn per level of a 4-ary tree of 65 ranks (height 3)
    }

    /// A process's start takes a core of the host for its CPU: processes started at once queue for the cores,
    /// and on a cluster (a core per node) they do not.
    @Test func processStartsQueueForTheHostsCores() throws {
        func wired(cores: Int?, startCPU: Duration) throws -> Duration {
            var model = BootstrapModel.latencyOnly(link: .microseconds(25), spawn: .milliseconds(1))
            model.hostCores = cores
            model.agentsPerProcess = 16
            model.processStartCPU = startCPU
            let outcome = try BootstrapSimulation.run(nodes: 256, fanout: 4, model: model, cpu: .fixed(perEvent: .zero))
            #expect(outcome.notRunning.isEmpty && outcome.exits.isEmpty)
            return try #require(outcome.wired)
        }
        var model = BootstrapModel.latencyOnly(link: .microseconds(25), spawn: .milliseconds(1))
        model.agentsPerProcess = 16
        let processes = try SimulatedCluster(nodes: 256, fanout: 4, model: model, cpu: .fixed(perEvent: .zero)).processRoots.count - 1
        #expect(processes > 8, "\(processes)")
        #expect(try wired(cores: nil, startCPU: .milliseconds(20)) == wired(cores: nil, startCPU: .zero))
        let oneCore = try wired(cores: 1, startCPU: .milliseconds(20))
        #expect(oneCore >= .milliseconds(20) * processes, "\(oneCore)")
        let twoCores = try wired(cores: 2, startCPU: .milliseconds(20))
        #expect(twoCores >= .milliseconds(10) * processes && twoCores < oneCore, "\(twoCores)")
    }

    /// Messages between agents of one process cost ``BootstrapModel/localMessageCPU``, those on a trunk
    /// ``BootstrapModel/frameCPU``: with every agent in one process only the controller's links are trunks.
    @Test func inProcessAndTrunkMessagesHaveTheirOwnCosts() throws {
        func wired(_ nodes: Int, frame: Duration, local: Duration) throws -> Duration {
            var model = BootstrapModel(linkLatency: .microseconds(25), bandwidth: .infinity, spawnLatency: .milliseconds(1), spawnCPU: .zero, frameCPU: frame)
            model.localMessageCPU = local
            model.hostCores = 2
            model.agentsPerProcess = 256
            return try #require(try BootstrapSimulation.run(nodes: nodes, fanout: 4, model: model, cpu: .fixed(perEvent: .zero)).wired)
        }
        let base = try wired(200, frame: .zero, local: .zero)
        let dearTrunks = try wired(200, frame: .microseconds(100), local: .zero)
        let dearLocal = try wired(200, frame: .zero, local: .microseconds(100))
        #expect(dearTrunks - base < .milliseconds(20), "\(base) \(dearTrunks)")  // the controller's four links
        #expect(dearLocal - base > .milliseconds(50), "\(base) \(dearLocal)")
        // Four processes of 256: most links cross processes.
        let base1024 = try wired(1024, frame: .zero, local: .zero)
        #expect(try wired(1024, frame: .microseconds(100), local: .zero) - base1024 > .milliseconds(500))
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
