import Control
@testable import NodeAgent
import Testing

/// One node's PMI-1 server without sockets: the line format, the replies hydra gives, puts and fences, bad
/// lines, the process mapping.
@Suite struct PMIServerTests {
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
}

/// Lenient barriers at the node: the work-around for MPICH 4.0.2's finalize hang.
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
        #expect(PMIServerTests.replies(released) == [0: "cmd=barrier_out rc=0\n"])
        // Rank 1 comes late to barrier 0: out at once; the next barrier is counted normally.
        #expect(PMIServerTests.replies(server.receive("cmd=barrier_in", from: 1, now: .seconds(14))) == [1: "cmd=barrier_out rc=0\n"])
        _ = server.receive("cmd=barrier_in", from: 0, now: .seconds(15))
        #expect(server.receive("cmd=barrier_in", from: 1, now: .seconds(15)) == [.fence(epoch: 1, entries: [])])
    }

    @Test func aBarrierThatCarriesPutsWaitsForEveryTask() {
        var server = Self.server()
        _ = server.receive("cmd=put kvsname=kvs key=card0 value=x", from: 0, now: .zero)
        _ = server.receive("cmd=barrier_in", from: 0, now: .zero)
        #expect(server.tick(now: .seconds(60)).isEmpty)
        var strict = PMIServerTests.server()
        _ = strict.receive("cmd=barrier_in", from: 2, now: .zero)
        #expect(strict.tick(now: .seconds(60)).isEmpty, "off unless configured")
    }
}

/// A node's side of a broken job (``PMIFenceLoss``): its PMI-1 server ends the connections of waiting tasks,
/// its PMIx relay fails its waiting fence.
struct PMIFenceLossServingTests {
    static let loss = PMIFenceLoss(rank: 1).entry

    @Test func aNodeEndsTheConnectionsOfItsWaitingTasksAndOfEveryLaterBarrier() {
        var server = PMIServerTests.server(ranks: 2..<4)
        #expect(server.receive("cmd=barrier_in", from: 2).isEmpty)
        let outputs = server.release(epoch: 5, entries: [Self.loss])
        #expect(outputs == [.disconnect(rank: 2)], "no barrier_out: MPICH would take any as success")
        #expect(server.receive("cmd=barrier_in", from: 3) == [.disconnect(rank: 3)])
        #expect(server.lose(PMIFenceLoss(rank: 2)).isEmpty, "the job already knows")
    }

    @Test func aNodeWhoseTaskLeftSendsOneFenceWithTheLossAndItsPendingPuts() {
        var server = PMIServerTests.server(ranks: 2..<4)
        _ = server.receive("cmd=put kvsname=kvs_job key=card2 value=x", from: 2)
        let outputs = server.lose(PMIFenceLoss(rank: 3))
        #expect(outputs == [.fence(epoch: 0, entries: [PMIEntry(key: "card2", value: "x"), PMIFenceLoss(rank: 3).entry])])
        #expect(server.lose(PMIFenceLoss(rank: 3)).isEmpty)
        #expect(server.receive("cmd=barrier_in", from: 2).isEmpty, "no second fence: the release with the loss answers it")
    }

    @Test func aTaskCannotForgeTheMarker() {
        var server = PMIServerTests.server(ranks: 2..<4)
        let outputs = server.receive("cmd=put kvsname=kvs_job key=\u{0}lost value=x", from: 2)
        guard case .fail(2, let message)? = outputs.first else { Issue.record("\(outputs)"); return }
        #expect(message.contains("control character"))
    }

    @Test func aPMIxServerFailsItsWaitingFenceAndTellsTheJobOnce() {
        var relay = PMIxFenceRelay(agents: [4, 2])
        _ = relay.entered(data: [1, 2, 3], handle: 77)
        let contribution = relay.lossContribution(PMIFenceLoss(rank: 5))
        #expect(contribution?.agent == 2 && contribution?.epoch == 1)
        #expect(relay.lossContribution(PMIFenceLoss(rank: 5)) == nil)
        #expect(relay.lose(PMIFenceLoss(rank: 5)) == [77])
        #expect(relay.pending.isEmpty && relay.loss == PMIFenceLoss(rank: 5))
        #expect(relay.lose(PMIFenceLoss(rank: 6)).isEmpty)
    }
}

/// The server itself knows whose session ended (the shell no longer reads its lines for that).
struct PMISessionEndTests {
    @Test func finalizeAndAbortEndTheSession() {
        var server = PMIServerTests.server(ranks: 2..<4)
        _ = server.receive("cmd=init pmi_version=1 pmi_subversion=1", from: 2)
        #expect(!server.hasEnded(2))
        _ = server.receive("cmd=finalize", from: 2)
        _ = server.receive("cmd=abort exitcode=7", from: 3)
        #expect(server.hasEnded(2) && server.hasEnded(3))
    }
}
