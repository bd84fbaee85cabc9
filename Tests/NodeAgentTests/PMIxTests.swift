import Control
@testable import NodeAgent
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
        #expect(info["pmix.ltopo"] == nil)
    }

    @Test func theNodesTopologyGoesToOpenMPIAsLocalTopo() {
        let job = PMIxJob(jobID: "j1", layout: TaskLayout(tasks: 2, nodes: 1), processes: [[0], [1]], agentRank: 1)
        let xml = "<topology version=\"2.0\"></topology>"
        let info = job.namespaceInfo(tmpdir: "/t", topology: xml)
        #expect(info["pmix.ltopo"] == .string(xml))
        #expect(info.filter { $0.key == "pmix.ltopo" }.count == 1)
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

/// The pure parts of Open MPI in VMs: the guest's environment and the check on a relayed connection.
@Suite struct PMIxGuestTests {
    /// OpenPMIx 4.2.2's connect message as a client of namespace `ns` rank `rank` sends it (captured from
    /// Debian's libpmix2, uid/gid 0): header, "native", credential, type, namespace, rank, version, modules.
    static func connectMessage(type: UInt8 = 0, namespace: String = "vhpc.j.ab12", rank: UInt32 = 1) -> [UInt8] {
        var body: [UInt8] = Array("native".utf8) + [0, 0, 0, 0, 8] + [UInt8](repeating: 0, count: 8) + [type]
        body += Array(namespace.utf8) + [0] + withUnsafeBytes(of: rank.bigEndian) { Array($0) }
        body += Array("4.2.2rc2".utf8) + [0] + Array("v41".utf8) + [0, 1] + Array("hash".utf8) + [0]
        let header: [UInt8] = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff] + withUnsafeBytes(of: UInt32(body.count).littleEndian) { Array($0) } + [0, 0, 0, 0]
        return header + body
    }

    @Test func aClientOfItsOwnRankPassesWholeEvenInPieces() {
        var guardian = PMIxConnectGuard(namespace: "vhpc.j.ab12", rank: 1)
        let message = Self.connectMessage()
        #expect(guardian.add(Array(message[0..<10])) == .wait)
        #expect(guardian.add(Array(message[10..<40])) == .wait)
        #expect(guardian.add(Array(message[40...])) == .forward(message))
        #expect(guardian.add([1, 2, 3]) == .forward([1, 2, 3]))
    }

    @Test func anotherRankATenantOrAToolIsRefused() {
        var other = PMIxConnectGuard(namespace: "vhpc.j.ab12", rank: 0)
        #expect(other.add(Self.connectMessage()) == .refuse("claims rank 1"))
        #expect(other.add([0]) == .refuse("already refused"))
        var wrongJob = PMIxConnectGuard(namespace: "vhpc.k.cd34", rank: 1)
        #expect(wrongJob.add(Self.connectMessage()) == .refuse("claims a namespace that is not its job's"))
        var tool = PMIxConnectGuard(namespace: "vhpc.j.ab12", rank: 1)
        #expect(tool.add(Self.connectMessage(type: 3)) == .refuse("connects as PMIx process type 3 (a tool or launcher), not as a client"))
    }

    @Test func garbageIsRefusedWithinBoundedMemory() {
        var endless = PMIxConnectGuard(namespace: "n", rank: 0)
        #expect(endless.add([UInt8](repeating: 0x41, count: 16)) == .wait)
        #expect(endless.add([UInt8](repeating: 0x41, count: 300)) == .refuse("security module longer than 256 bytes"))
        var bigCredential = PMIxConnectGuard(namespace: "n", rank: 0)
        let message = [UInt8](repeating: 0, count: 16) + Array("native".utf8) + [0, 0x10, 0, 0, 0]
        #expect(bigCredential.add(message) == .refuse("credential of 268435456 bytes"))
        // However the bytes come, a verdict falls within the fields' bounds.
        var filler = PMIxConnectGuard(namespace: "n", rank: 0)
        var outcome = PMIxConnectGuard.Outcome.wait
        var sent = 0
        while outcome == .wait, sent <= PMIxConnectGuard.limit {
            outcome = filler.add([0x41])
            sent += 1
        }
        #expect(outcome != .wait && sent <= PMIxConnectGuard.limit)
    }

    @Test func theGuestEnvironmentKeepsTheServerAndLeavesTheHostsFilesBehind() {
        let host = [
            "PMIX_SERVER_URI4": "pmix-server.29934;tcp4://127.0.0.1:46083",
            "PMIX_SERVER_URI21": "pmix-server.29934;tcp4://127.0.0.1:46083",
            "PMIX_NAMESPACE": "vhpc.j.ab12", "PMIX_RANK": "1", "PMIX_GDS_MODULE": "ds21,ds12,hash",
            "PMIX_DSTORE_21_BASE_PATH": "/tmp/vhpc-pmix-j-vhpc-node0/pmix_dstor_ds21_29934",
            "PMIX_SERVER_TMPDIR": "/tmp/vhpc-pmix-j-vhpc-node0",
            "OMPI_MCA_btl_vader_backing_directory": "/tmp/vhpc-pmix-j-vhpc-node0",
            "OMPI_MCA_orte_tmpdir_base": "/tmp/vhpc-pmix-j-vhpc-node0", "FLUX_JOB_ID": "vhpc",
        ]
        let guest = PMIxGuest.environment(host)
        #expect(PMIxGuest.serverAddress(host)! == ("127.0.0.1", 46083))
        #expect(PMIxGuest.serverAddress(["PMIX_SERVER_URI4": "pmix-server.1;usock:/x"]) == nil)
        #expect(guest["PMIX_SERVER_URI4"] == host["PMIX_SERVER_URI4"])
        #expect(guest["PMIX_GDS_MODULE"] == "hash")
        #expect(guest["PMIX_DSTORE_21_BASE_PATH"] == nil)
        #expect(guest["OMPI_MCA_btl_vader_backing_directory"] == nil)
        #expect(guest.values.allSatisfy { !$0.contains("vhpc-pmix-") }, "\(guest)")
        #expect(guest["OMPI_MCA_btl"] == "self,tcp")
        #expect(guest["OMPI_ALLOW_RUN_AS_ROOT"] == "1" && guest["FLUX_JOB_ID"] == "vhpc")
    }
}
