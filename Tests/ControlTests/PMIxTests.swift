import Control
import NIOCore
import Testing
import Topology
import Wire

/// The PMIx server's pure parts: the namespace it registers, its fences over the tree, which agents share a
/// process (and so a server), and the binary fence entries on the wire.
@Suite struct PMIxTests {
    @Test func theNamespaceDescribesNodesRanksAndLocalPeers() {
        let job = PMIxJob(jobID: "j1", layout: TaskLayout(tasks: 4, nodes: 2), processes: [[0], [1], [2]], agentRank: 2)
        let info = job.namespaceInfo(tmpdir: "/tmp/x")
        #expect(job.namespace == "vhpc.j1")
        #expect(PMIxJob(jobID: "j1", layout: TaskLayout(tasks: 4, nodes: 2), processes: [[0], [1], [2]], agentRank: 2, namespaceTag: "ab12").namespace == "vhpc.j1.ab12")
        #expect(info["pmix.job.size"] == .uint32(4))
        #expect(info["pmix.univ.size"] == .uint32(4))
        #expect(info["pmix.num.nodes"] == .uint32(2))
        #expect(info["pmix.nmap"] == .string("raw:vhpc-node0,vhpc-node1"))
        #expect(info["pmix.pmap"] == .string("raw:0,1;2,3"))
        #expect(info["pmix.lpeers"] == .string("2,3"))
        #expect(info["pmix.local.size"] == .uint32(2))
        #expect(info["pmix.lldr"] == .rank(2))
        #expect(info["pmix.tmpdir"] == .string("/tmp/x"))
        let procs = info.filter { $0.key == "pmix.pdata" }.compactMap { entry -> [PMIxInfo]? in
            if case .infos(let items) = entry.value { return items } else { return nil }
        }
        #expect(procs.count == 4)
        let rank3 = procs.first { $0["pmix.rank"] == .rank(3) }
        #expect(rank3?["pmix.lrank"] == .uint16(1))
        #expect(rank3?["pmix.nodeid"] == .uint32(1))
        #expect(rank3?["pmix.hname"] == .string("vhpc-node1"))
    }

    @Test func agentsPackedInOneProcessAreOnePMIxNode() {
        // Nodes 1 and 2 share a process; node 3 has no task (3 tasks over 3 nodes would give it one: use 2).
        let job = PMIxJob(jobID: "j", layout: TaskLayout(tasks: 5, nodes: 3), processes: [[0], [1, 2], [3]], agentRank: 2)
        #expect(job.nodes.map(\.ranks) == [[0, 1, 2, 3], [4]])
        #expect(job.local.agentsWithTasks == [1, 2])
        #expect(job.namespaceInfo(tmpdir: "/t")["pmix.lpeers"] == .string("0,1,2,3"))
    }

    @Test func everyAgentIsInExactlyOneProcess() throws {
        for (nodes, perProcess) in [(8, 1), (16, 256), (300, 256), (1024, 64)] {
            let tree = try BootTree(kind: .tree(arity: 4), nodeCount: nodes + 1)
            let processes = ChunkPlan.processes(tree: tree, agentsPerProcess: perProcess)
            #expect(processes.flatMap { $0 }.sorted() == Array(0...nodes), "\(nodes) nodes, \(perProcess) per process")
            #expect(processes.allSatisfy { $0.count <= max(1, perProcess) + 4 })
            if perProcess == 1 { #expect(processes.count == nodes + 1) }
        }
    }

    @Test func aFenceGoesUpInChunksAndCompletesOnceWithEveryNodesData() {
        var relay = PMIxFenceRelay(agents: [5, 3])
        let blob = (0..<(PMIxFenceRelay.chunkBytes * 2 + 10)).map { UInt8(truncatingIfNeeded: $0) }
        let contributions = relay.entered(data: blob, handle: 42)
        #expect(contributions.map(\.agent) == [3, 5])
        #expect(contributions.allSatisfy { $0.epoch == 0 })
        #expect(contributions[0].entries.count == 3)
        #expect(contributions[0].entries.allSatisfy { $0.bytes.count <= PMIxFenceRelay.chunkBytes && $0.key == PMIxFenceRelay.key })
        #expect(contributions[1].entries == [PMIEntry(key: PMIxFenceRelay.key, bytes: [])])
        let other = [PMIEntry(key: PMIxFenceRelay.key, bytes: [1, 2, 3])]
        let released = contributions[0].entries + contributions[1].entries + other
        #expect(PMIxFenceRelay.carriesPMIx(released))
        #expect(!PMIxFenceRelay.carriesPMIx([PMIEntry(key: "P0-businesscard", value: "x")]))
        let done = relay.released(epoch: 0, entries: released)
        #expect(done?.handle == 42)
        #expect(done?.data == blob + [1, 2, 3])
        #expect(relay.released(epoch: 0, entries: released) == nil, "a second agent of the process gets the same release")
        #expect(relay.entered(data: [], handle: 43).first?.epoch == 1)
        #expect(relay.pending == [43])
    }

    @Test func fenceEntriesCarryBinaryValues() throws {
        let bytes: [UInt8] = [0, 0xff, 0xfe, 0xc3, 0x28, 10, 32]
        let payload = ControlPayload.pmiRelease(epoch: 2, entries: [PMIEntry(key: PMIxFenceRelay.key, bytes: bytes), PMIEntry(key: "k", value: "a b")])
        let decoded = try #require(ControlPayload(message: payload.message))
        #expect(decoded == payload)
    }
}

/// How an MPI rank's end is judged (singletons, ranks that leave their peers waiting).
@Suite struct MPIExitCheckTests {
    @Test func aSingletonOfAnMPIProgramFails() {
        let check = MPIExitCheck(size: 2, mode: .auto, linksMPI: true)
        #expect(check.failure(rank: 1, status: 0, connected: false, finalized: false)
                == "rank 1 ran as an MPI singleton: it exited without contacting the node's PMI-1 nor PMIx server, so its MPI_COMM_WORLD had 1 rank instead of 2; failed")
        #expect(check.failure(rank: 1, status: 0, connected: true, finalized: true) == nil)
    }

    @Test func aRankThatLeavesWithoutFinalizeFails() {
        let check = MPIExitCheck(size: 4, mode: .pmix, linksMPI: true)
        #expect(check.failure(rank: 2, status: 0, connected: true, finalized: false)?.hasPrefix("rank 2 exited 0 without MPI_Finalize") == true)
        // A non-zero exit is a failure already (JobPolicy), and ranks the job then terminates (143) are not.
        #expect(check.failure(rank: 2, status: 3, connected: false, finalized: false) == nil)
        #expect(check.failure(rank: 1, status: 143, connected: true, finalized: false) == nil)
    }

    @Test func nonMPIProgramsAndOneRankJobsAreLeftAlone() {
        #expect(MPIExitCheck(size: 4, mode: .auto, linksMPI: false).failure(rank: 0, status: 3, connected: false, finalized: false) == nil)
        #expect(MPIExitCheck(size: 1, mode: .auto, linksMPI: true).failure(rank: 0, status: 0, connected: false, finalized: false) == nil)
        #expect(MPIExitCheck(size: 4, mode: .none, linksMPI: true).failure(rank: 0, status: 0, connected: true, finalized: false) == nil)
    }
}
