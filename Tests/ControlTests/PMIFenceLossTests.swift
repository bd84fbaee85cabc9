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
}
