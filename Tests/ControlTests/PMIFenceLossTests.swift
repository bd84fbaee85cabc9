import Testing
@testable import Control

/// A task that leaves without ending its PMI session breaks the job's fences: the other ranks are released
/// with an error instead of waiting for it forever (``PMIFenceLoss``).
struct PMIFenceLossTests {
    static let loss = PMIFenceLoss(rank: 1).entry

    @Test func onlyATaskThatSpokePMIOrFailedBreaksTheFences() {
        #expect(PMIFenceLoss(rank: 1, status: 3, connected: false, finalized: false)?.reason == "rank 1 ended without MPI_Finalize")
        #expect(PMIFenceLoss(rank: 1, status: 0, connected: true, finalized: false) != nil)
        #expect(PMIFenceLoss(rank: 1, status: 0, connected: false, finalized: false) == nil, "a program without MPI")
        #expect(PMIFenceLoss(rank: 1, status: 9, connected: true, finalized: true) == nil, "past its last fence")
        #expect(PMIFenceLoss(entries: [PMIEntry(key: "a", value: "1"), Self.loss]) == PMIFenceLoss(rank: 1))
        #expect(PMIFenceLoss(entries: [PMIEntry(key: PMIFenceLoss.key, value: "not a rank")]) == nil)
    }

    @Test func theControllerReleasesTheOpenFenceAndEveryLaterOneWithTheLoss() {
        var tracker = PMIFenceTracker(nodes: [1, 2, 3])
        #expect(tracker.fence(from: 1, epoch: 0, entries: [PMIEntry(key: "a", value: "1")]).isEmpty)
        let released = tracker.fence(from: 2, epoch: 0, entries: [Self.loss])
        #expect(released.map(\.epoch) == [0])
        #expect(released.map(\.entries) == [[Self.loss]], "node 3 is not waited for")
        // A fence after the loss (a node that had not heard of it yet) is released at once, with the loss.
        #expect(tracker.fence(from: 3, epoch: 1, entries: []).map(\.entries) == [[Self.loss]])
        // A second loss or a late fence changes nothing.
        #expect(tracker.fence(from: 1, epoch: 0, entries: [Self.loss]).isEmpty)
    }

    @Test func aLossWithNoFenceOpenTravelsInAnEpochNeverReleased() {
        var tracker = PMIFenceTracker(nodes: [1, 2])
        _ = tracker.fence(from: 1, epoch: 0, entries: [])
        #expect(tracker.fence(from: 2, epoch: 0, entries: []).map(\.epoch) == [0])
        // Node 2's task died after the release of epoch 0 but its node still counts epoch 0.
        #expect(tracker.fence(from: 2, epoch: 0, entries: [Self.loss]).map(\.epoch) == [1])
    }

    @Test func aNodeEndsTheConnectionsOfItsWaitingTasksAndOfEveryLaterBarrier() {
        var server = PMITests.server(ranks: 2..<4)
        #expect(server.receive("cmd=barrier_in", from: 2).isEmpty)
        let outputs = server.release(epoch: 5, entries: [Self.loss])
        #expect(outputs == [.disconnect(rank: 2)], "no barrier_out: MPICH would take any as success")
        #expect(server.receive("cmd=barrier_in", from: 3) == [.disconnect(rank: 3)])
        #expect(server.lose(PMIFenceLoss(rank: 2)).isEmpty, "the job already knows")
    }

    @Test func aNodeWhoseTaskLeftSendsOneFenceWithTheLossAndItsPendingPuts() {
        var server = PMITests.server(ranks: 2..<4)
        _ = server.receive("cmd=put kvsname=kvs_job key=card2 value=x", from: 2)
        let outputs = server.lose(PMIFenceLoss(rank: 3))
        #expect(outputs == [.fence(epoch: 0, entries: [PMIEntry(key: "card2", value: "x"), PMIFenceLoss(rank: 3).entry])])
        #expect(server.lose(PMIFenceLoss(rank: 3)).isEmpty)
        #expect(server.receive("cmd=barrier_in", from: 2).isEmpty, "no second fence: the release with the loss answers it")
    }

    @Test func aTaskCannotForgeTheMarker() {
        var server = PMITests.server(ranks: 2..<4)
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
        var server = PMITests.server(ranks: 2..<4)
        _ = server.receive("cmd=init pmi_version=1 pmi_subversion=1", from: 2)
        #expect(!server.hasEnded(2))
        _ = server.receive("cmd=finalize", from: 2)
        _ = server.receive("cmd=abort exitcode=7", from: 3)
        #expect(server.hasEnded(2) && server.hasEnded(3))
    }
}
