import Control
import Topology
import NIOCore
import Testing
import Wire

/// PMI-1 over the tree, without sockets: the line format, one node's server, the controller's fences, and
/// the agent machines routing a fence up and its release down.
@Suite struct PMITests {
    static func server(ranks: Range<Int> = 2..<4, size: Int = 4) -> PMINodeServer {
        PMINodeServer(configuration: .init(kvsName: "kvs_job", size: size, localRanks: ranks, processMapping: "(vector,(0,2,2))"))
    }

    static func replies(_ outputs: [PMINodeServer.Output]) -> [Int: String] {
        var result: [Int: String] = [:]
        for case .reply(let rank, let line) in outputs { result[rank] = line }
        return result
    }

    @Test func linesParseAndPrint() {
        let command = PMICommand(line: "cmd=put kvsname=kvs_1 key=P0-businesscard value=a=b$c ")
        #expect(command?.name == "put")
        #expect(command?.fields == ["kvsname": "kvs_1", "key": "P0-businesscard", "value": "a=b$c"])
        #expect(PMICommand(line: "key=x cmd=put") == nil, "cmd must come first")
        #expect(PMICommand.line("barrier_out", ["rc": "0"]) == "cmd=barrier_out rc=0\n")
    }

    @Test func initMaxesAndNamesAnswerAsHydraDoes() {
        var server = Self.server()
        #expect(Self.replies(server.receive("cmd=init pmi_version=1 pmi_subversion=1", from: 2))[2]
                == "cmd=response_to_init pmi_version=1 pmi_subversion=1 rc=0\n")
        #expect(Self.replies(server.receive("cmd=get_maxes", from: 2))[2]
                == "cmd=maxes kvsname_max=256 keylen_max=64 vallen_max=1024 rc=0\n")
        #expect(Self.replies(server.receive("cmd=get_my_kvsname", from: 3))[3] == "cmd=my_kvsname kvsname=kvs_job rc=0\n")
        #expect(Self.replies(server.receive("cmd=get_universe_size", from: 3))[3] == "cmd=universe_size size=4 rc=0\n")
        #expect(Self.replies(server.receive("cmd=get kvsname=kvs_job key=PMI_process_mapping", from: 3))[3]
                == "cmd=get_result rc=0 msg=success value=(vector,(0,2,2))\n")
        #expect(server.receive("cmd=init", from: 7).isEmpty, "rank 7 is not served here")
        #expect(Self.replies(server.receive("cmd=spawn_mystery", from: 2))[2]?.contains("rc=-1") == true)
    }

    @Test func putsAreLocalAtOnceAndGlobalAfterTheFence() {
        var server = Self.server()
        _ = server.receive("cmd=put kvsname=kvs_job key=mine value=2", from: 2)
        #expect(Self.replies(server.receive("cmd=get kvsname=kvs_job key=mine", from: 3))[3]?.contains("value=2") == true)
        #expect(Self.replies(server.receive("cmd=get kvsname=kvs_job key=theirs", from: 3))[3]
                == "cmd=get_result rc=-1 msg=key_theirs_not_found\n")
        #expect(server.receive("cmd=barrier_in", from: 2).isEmpty, "waits for every local task")
        #expect(server.receive("cmd=barrier_in", from: 3) == [.fence(epoch: 0, entries: [PMIEntry(key: "mine", value: "2")])])
        #expect(server.release(epoch: 5, entries: []).isEmpty, "a release of another epoch is ignored")
        let out = server.release(epoch: 0, entries: [PMIEntry(key: "mine", value: "2"), PMIEntry(key: "theirs", value: "0")])
        #expect(Self.replies(out) == [2: "cmd=barrier_out rc=0\n", 3: "cmd=barrier_out rc=0\n"])
        #expect(Self.replies(server.receive("cmd=get kvsname=kvs_job key=theirs", from: 2))[2]?.contains("value=0") == true)
        // The next fence carries only what was put since.
        _ = server.receive("cmd=barrier_in", from: 2)
        #expect(server.receive("cmd=barrier_in", from: 3) == [.fence(epoch: 1, entries: [])])
    }

    @Test func anOversizedValueFailsItsTaskNamingRankAndKey() {
        var server = Self.server()
        let value = String(repeating: "v", count: PMINodeServer.valueMax + 1)
        let outputs = server.receive("cmd=put kvsname=kvs_job key=P2-businesscard value=\(value)", from: 2)
        guard case .fail(let rank, let message)? = outputs.first else {
            Issue.record("expected a failure, got \(outputs)")
            return
        }
        #expect(rank == 2)
        #expect(message.contains("rank 2") && message.contains("'P2-businesscard'") && message.contains("1025 bytes"), "\(message)")
        // The others are still served.
        #expect(Self.replies(server.receive("cmd=get_my_kvsname", from: 3))[3] == "cmd=my_kvsname kvsname=kvs_job rc=0\n")
    }

    @Test func aMalformedLineFailsItsTask() {
        var server = Self.server()
        let outputs = server.receive("hello there", from: 3)
        guard case .fail(3, let message)? = outputs.first else {
            Issue.record("expected a failure, got \(outputs)")
            return
        }
        #expect(message == "rank 3: malformed PMI-1 line (no cmd=): hello there")
        #expect(server.receive("cmd=put kvsname=kvs_job key=k", from: 2).first.map { if case .fail = $0 { true } else { false } } == true)
    }

    @Test func aValueRunsToTheEndOfTheLine() {
        var server = Self.server()
        #expect(PMICommand(line: "cmd=put kvsname=kvs_job key=k value=a b=c  d")?.fields["value"] == "a b=c  d")
        _ = server.receive("cmd=put kvsname=kvs_job key=k value=with spaces", from: 2)
        #expect(Self.replies(server.receive("cmd=get kvsname=kvs_job key=k", from: 3))[3] == "cmd=get_result rc=0 msg=success value=with spaces\n")
    }

    @Test func processMappingDescribesTheBlocks() {
        #expect(PMINodeServer.processMapping(TaskLayout(tasks: 8, nodes: 4), tasksPerVM: false) == "(vector,(0,4,2))")
        #expect(PMINodeServer.processMapping(TaskLayout(tasks: 5, nodes: 2), tasksPerVM: false) == "(vector,(0,1,3),(1,1,2))")
        #expect(PMINodeServer.processMapping(TaskLayout(tasks: 2, nodes: 3), tasksPerVM: false) == "(vector,(0,2,1))")
        #expect(PMINodeServer.processMapping(TaskLayout(tasks: 4, nodes: 2), tasksPerVM: true) == "(vector,(0,4,1))")
    }

    @Test func theControllerReleasesOnceEveryNodeIsIn() {
        var tracker = PMIFenceTracker(nodes: [1, 2, 3])
        #expect(tracker.fence(from: 2, epoch: 0, entries: [PMIEntry(key: "b", value: "2")]).isEmpty)
        #expect(tracker.fence(from: 9, epoch: 0, entries: []).isEmpty, "not a node with tasks")
        #expect(tracker.fence(from: 1, epoch: 0, entries: [PMIEntry(key: "a", value: "1")]).isEmpty)
        #expect(tracker.fence(from: 3, epoch: 0, entries: []).map(\.entries) == [[PMIEntry(key: "a", value: "1"), PMIEntry(key: "b", value: "2")]])
        // A failed node is not waited for.
        #expect(tracker.fence(from: 1, epoch: 1, entries: []).isEmpty)
        #expect(tracker.fence(from: 2, epoch: 1, entries: []).isEmpty)
        #expect(tracker.nodesFailed([3]).map(\.epoch) == [1])
    }

    @Test func aFenceGoesUpTheTreeAndItsReleaseComesDown() throws {
        // Ranks 0 (controller), 1, 2: a binary tree with both nodes children of the controller.
        let tree = try BootTree(kind: .tree(arity: 2), nodeCount: 3)
        func machine(_ rank: Int) throws -> AgentMachine {
            try AgentMachine(configuration: .init(
                endpoint: AgentEndpoint(rank: rank, host: "h", port: 1000 + rank, pid: 1), rankCount: 3, tree: tree,
                heartbeatPeriod: nil, parent: rank == 0 ? nil : AgentEndpoint(rank: 0, host: "h", port: 1000, pid: 1)))
        }
        var controller = try machine(0)
        var node = try machine(1)
        _ = controller.handle(.start, now: .zero)
        _ = node.handle(.start, now: .zero)
        for peer in [1, 2] { _ = controller.handle(.linkUp(rank: peer), now: .zero) }
        _ = node.handle(.linkUp(rank: 0), now: .zero)
        let launch = Message.launch(LaunchCommand(id: 1, executable: "mpi-app", tasks: 2))
        _ = controller.handle(.broadcast(launch), now: .zero)

        func sends(_ directives: [AgentDirective]) -> [(Message, Int)] {
            directives.compactMap { if case .send(let message, let to) = $0 { return (message, to) } else { return nil } }
        }
        let up = sends(node.handle(.pmiFence(epoch: 0, entries: [PMIEntry(key: "a", value: "1")]), now: .zero))
        #expect(up.count == 1 && up[0].1 == 0)
        #expect(sends(controller.handle(.message(up[0].0, from: 1), now: .zero)).isEmpty, "node 2 is not in yet")
        let fence2 = ControlPayload.pmiFence(node: 2, epoch: 0, entries: [PMIEntry(key: "b", value: "2")]).message
        let down = sends(controller.handle(.message(fence2, from: 2), now: .zero))
        #expect(Set(down.map(\.1)) == [1, 2])
        let release = try #require(down.first?.0)
        #expect(ControlPayload(message: release) == .pmiRelease(epoch: 0, entries: [PMIEntry(key: "a", value: "1"), PMIEntry(key: "b", value: "2")]))
        let atNode = node.handle(.message(release, from: 0), now: .zero)
        #expect(atNode.contains(.pmiRelease(epoch: 0, entries: [PMIEntry(key: "a", value: "1"), PMIEntry(key: "b", value: "2")])))
        #expect(node.handle(.message(release, from: 0), now: .zero).isEmpty, "a flooded release is delivered once")
    }

    @Test func bigFencesAndReleasesTravelInFramesOfBoundedSize() throws {
        // 3 MiB from node 1 (Open MPI's modex of ~550 ranks), 1 MiB from node 2: neither fits one 2 MiB frame.
        let tree = try BootTree(kind: .tree(arity: 2), nodeCount: 3)
        func machine(_ rank: Int) throws -> AgentMachine {
            try AgentMachine(configuration: .init(
                endpoint: AgentEndpoint(rank: rank, host: "h", port: 1000 + rank, pid: 1), rankCount: 3, tree: tree,
                heartbeatPeriod: nil, parent: rank == 0 ? nil : AgentEndpoint(rank: 0, host: "h", port: 1000, pid: 1)))
        }
        var controller = try machine(0)
        var node = try machine(1)
        _ = controller.handle(.start, now: .zero)
        _ = node.handle(.start, now: .zero)
        for peer in [1, 2] { _ = controller.handle(.linkUp(rank: peer), now: .zero) }
        _ = node.handle(.linkUp(rank: 0), now: .zero)
        _ = controller.handle(.broadcast(.launch(LaunchCommand(id: 1, executable: "mpi-app", tasks: 2))), now: .zero)
        func sends(_ directives: [AgentDirective]) -> [(Message, Int)] {
            directives.compactMap { if case .send(let message, let to) = $0 { return (message, to) } else { return nil } }
        }
        let chunk = [UInt8](repeating: 7, count: PMIxFenceRelay.chunkBytes)
        let mine = (0..<12).map { PMIEntry(key: PMIxFenceRelay.key, bytes: chunk + [UInt8($0)]) }
        let theirs = (0..<4).map { PMIEntry(key: PMIxFenceRelay.key, bytes: [UInt8($0)] + chunk) }
        let up = sends(node.handle(.pmiFence(epoch: 0, entries: mine), now: .zero))
        #expect(up.count == 4, "3 MiB in parts of at most 1 MiB")
        for (message, _) in up {
            var body = ByteBuffer()
            if case .agentControl(let control) = message { body = control.body }
            #expect(body.readableBytes <= PMIParts.budget + 64)
        }
        // The parts arrive out of order; node 2's fence completes the epoch.
        for (message, _) in up.reversed() { #expect(sends(controller.handle(.message(message, from: 1), now: .zero)).isEmpty) }
        var down: [(Message, Int)] = []
        for (index, part) in PMIParts.split(theirs).enumerated() {
            let fence = ControlPayload.pmiFence(node: 2, epoch: 0, entries: part, part: index, parts: PMIParts.split(theirs).count).message
            down += sends(controller.handle(.message(fence, from: 2), now: .zero))
        }
        let toNode1 = down.filter { $0.1 == 1 }.map(\.0)
        #expect(toNode1.count == 6, "4 MiB of entries released in parts of at most 1 MiB")
        var delivered: [AgentDirective] = []
        for message in toNode1.reversed() { delivered += node.handle(.message(message, from: 0), now: .zero) }
        let releases = delivered.filter { if case .pmiRelease = $0 { true } else { false } }
        #expect(releases == [.pmiRelease(epoch: 0, entries: mine + theirs)], "one release, every part in order")
    }
}

/// Lenient barriers: the work-around for MPICH 4.0.2's finalize hang.
@Suite struct LenientPMITests {
    static func server() -> PMINodeServer {
        PMINodeServer(configuration: .init(kvsName: "kvs", size: 4, localRanks: 0..<2, processMapping: "(vector,(0,4,1))",
                                           lenientAfter: .seconds(2)))
    }

    @Test func aBarrierWithoutPutsIsFencedAfterTheDelayAndTheLateTaskLeavesAtOnce() {
        var server = Self.server()
        #expect(server.receive("cmd=barrier_in", from: 0, now: .seconds(10)).isEmpty)
        #expect(server.tick(now: .milliseconds(11_999)).isEmpty, "not before the delay")
        #expect(server.tick(now: .seconds(12)) == [.fence(epoch: 0, entries: [])])
        #expect(server.tick(now: .seconds(13)).isEmpty, "fenced once")
        let released = server.release(epoch: 0, entries: [])
        #expect(PMITests.replies(released) == [0: "cmd=barrier_out rc=0\n"])
        // Rank 1 comes late to barrier 0: out at once; the next barrier is counted normally.
        #expect(PMITests.replies(server.receive("cmd=barrier_in", from: 1, now: .seconds(14))) == [1: "cmd=barrier_out rc=0\n"])
        _ = server.receive("cmd=barrier_in", from: 0, now: .seconds(15))
        #expect(server.receive("cmd=barrier_in", from: 1, now: .seconds(15)) == [.fence(epoch: 1, entries: [])])
    }

    @Test func aBarrierThatCarriesPutsWaitsForEveryTask() {
        var server = Self.server()
        _ = server.receive("cmd=put kvsname=kvs key=card0 value=x", from: 0, now: .zero)
        _ = server.receive("cmd=barrier_in", from: 0, now: .zero)
        #expect(server.tick(now: .seconds(60)).isEmpty)
        var strict = PMITests.server()
        _ = strict.receive("cmd=barrier_in", from: 2, now: .zero)
        #expect(strict.tick(now: .seconds(60)).isEmpty, "off unless configured")
    }

    @Test func theControllerReleasesAnEmptyEpochWithoutTheMissingNodes() {
        var tracker = PMIFenceTracker(nodes: [1, 2, 3], lenientAfter: .seconds(2))
        #expect(tracker.fence(from: 1, epoch: 0, entries: [], now: .seconds(5)).isEmpty)
        #expect(tracker.tick(now: .seconds(6)).isEmpty)
        #expect(tracker.tick(now: .seconds(7)).map(\.epoch) == [0])
        #expect(tracker.fence(from: 2, epoch: 0, entries: [PMIEntry(key: "late", value: "1")], now: .seconds(8)).isEmpty,
                "a late fence for a released epoch")
        #expect(tracker.tick(now: .seconds(20)).isEmpty)
        // Its puts go down with the next release.
        for node in [1, 2] { _ = tracker.fence(from: node, epoch: 1, entries: [], now: .seconds(21)) }
        #expect(tracker.fence(from: 3, epoch: 1, entries: [], now: .seconds(21)).map(\.entries) == [[PMIEntry(key: "late", value: "1")]])
        // An epoch with data is never released early.
        #expect(tracker.fence(from: 1, epoch: 2, entries: [PMIEntry(key: "k", value: "v")], now: .seconds(21)).isEmpty)
        #expect(tracker.tick(now: .seconds(60)).isEmpty)
    }
}
