import NIOCore
import Testing
import Topology
import Wire

@testable import Control

@Suite struct StagingMachineTests {
    @Test func everyNodeGetsTheVerifiedFileDownTheTree() throws {
        var network = try StagingNetwork(nodes: 8, fileSize: 37 * 1024 + 123, chunkSize: 1024)
        network.start()
        network.run()
        for rank in 1...8 {
            #expect(network.committed[rank] == network.source, "node \(rank)")
            #expect(network.outcome(of: rank) == .staged)
            #expect(network.chunksDelivered[rank] == 38, "node \(rank) got each chunk once")
        }
    }

    @Test func relaysForwardWhileReceiving() throws {
        // Pipelining: a leaf (rank 7, depth 3) has chunks before its grandparent has the whole file.
        var network = try StagingNetwork(nodes: 8, fileSize: 100 * 1024, chunkSize: 1024)
        network.start()
        network.run { $0.chunksDelivered[7, default: 0] > 0 }
        #expect(network.machines[1]!.received(7) < 50 * 1024)
        network.run()
        #expect(network.committed[7] == network.source)
    }

    @Test func windowBoundsMemoryAtEveryNode() throws {
        var network = try StagingNetwork(nodes: 16, fileSize: 200 * 1024, chunkSize: 1024, window: 4)
        network.start()
        network.run()
        #expect(network.maxBuffered <= 8 + 4, "buffered \(network.maxBuffered) chunks")
        for rank in 1...16 { #expect(network.committed[rank] == network.source) }
    }

    @Test func aCorruptedChunkIsDetectedAndSentAgain() throws {
        var network = try StagingNetwork(nodes: 7, fileSize: 30 * 1024, chunkSize: 1024)
        network.corrupt = [3: 5 * 1024, 1: 0]
        network.start()
        network.run()
        #expect(network.resendRequests == 2)
        #expect(network.resendsAnnounced == 2)
        for rank in 1...7 { #expect(network.committed[rank] == network.source, "node \(rank)") }
    }

    /// A feeder whose copy of a chunk is bad every time it is sent: after one resend the node takes the file
    /// from another neighbour instead of asking forever.
    @Test func aChunkBadTwiceFromTheSameFeederIsTakenFromAnotherNeighbour() throws {
        var network = try StagingNetwork(nodes: 7, fileSize: 30 * 1024, chunkSize: 1024)
        network.damagedAtParent = [4: 3 * 1024]
        network.start()
        network.run()
        #expect(network.resendRequests == 1)
        for rank in 1...7 { #expect(network.committed[rank] == network.source, "node \(rank)") }
        #expect(network.machines[4]?.transfers[7]?.feeder != network.tree.parent(of: 4))
    }

    @Test func aNodeThatHasTheFileIsSkippedAndFeedsItsSubtree() throws {
        var network = try StagingNetwork(nodes: 7, fileSize: 20 * 1024, chunkSize: 1024)
        network.present = [1]
        network.start()
        network.run()
        #expect(network.outcome(of: 1) == .skipped)
        #expect(network.chunksDelivered[1, default: 0] == 0)
        for rank in [3, 4, 7] { #expect(network.committed[rank] == network.source, "node \(rank) (below node 1)") }
    }

    @Test(arguments: [1, 2, 3])
    func orphansOfAFailedInteriorNodeResumeFromAnotherFeeder(victim: Int) throws {
        var network = try StagingNetwork(nodes: 12, fileSize: 80 * 1024, chunkSize: 1024)
        network.start()
        network.run { $0.chunksDelivered[victim, default: 0] >= 30 }
        let orphans = network.tree.children(of: victim)
        let before = orphans.map { network.machines[$0]!.received(7) }
        network.kill(victim)
        network.run()
        for rank in 1...12 where rank != victim {
            #expect(network.committed[rank] == network.source, "node \(rank)")
        }
        // Resumed where they stood: no orphan received the file twice.
        for (index, orphan) in orphans.enumerated() {
            #expect(network.chunksDelivered[orphan, default: 0] <= 80 + 8, "orphan \(orphan) had \(before[index]) bytes")
        }
    }

    /// Copies that fail (a full disk) on an interior node and on the neighbours its orphans turn to: node 6's
    /// feeder (2) gives up mid-file, node 6 attaches to node 1, whose copy had already failed, which detaches
    /// it at once; then to node 5 (failed too), then to node 4. Before, a feeder whose copy had failed ignored
    /// the new child's acknowledgement and node 6 waited for chunks forever (the job never ended).
    @Test func anOrphanThatAttachesToAFeederWhoseCopyFailedLooksFurther() throws {
        var network = try StagingNetwork(nodes: 8, fileSize: 40 * 1024, chunkSize: 1024)
        network.failWrites = [1: 0, 5: 0, 2: 12 * 1024]
        network.start()
        network.run()
        #expect(network.queue.isEmpty)
        for rank in [1, 2, 5] { #expect(network.outcome(of: rank) == .failed, "node \(rank)") }
        for rank in [4, 6] {
            #expect(network.outcome(of: rank) == .staged, "node \(rank)")
            let holdsTheSource = network.committed[rank] == network.source
            #expect(holdsTheSource, "node \(rank)")
        }
        // Every node ends with a verdict: staged, or failed with a reason the job reports.
        for rank in 1...8 { #expect(network.outcome(of: rank) != nil, "node \(rank) has no verdict") }
        #expect(network.machines[6]?.transfers[7]?.avoid.isSuperset(of: [1, 2]) == true)
    }

    /// A child whose link to its feeder was down when the feeder's copy failed (the detach was lost) is
    /// detached when the link comes back, and takes the file from another neighbour.
    @Test func aChildCutOffWhenItsFeederFailedIsDetachedWhenTheLinkReturns() throws {
        var network = try StagingNetwork(nodes: 8, fileSize: 40 * 1024, chunkSize: 1024)
        network.failWrites = [2: 12 * 1024]
        network.start()
        network.run { $0.chunksDelivered[6, default: 0] >= 2 }
        network.links[2]!.remove(6)
        network.links[6]!.remove(2)
        network.run()
        #expect(network.outcome(of: 2) == .failed)
        #expect(network.outcome(of: 6) == nil, "node 6 still counts on node 2")
        network.links[2]!.insert(6)
        network.links[6]!.insert(2)
        var parent = network.machines[2]!
        parent.links = network.links[2]!
        let actions = parent.linkUp(6)
        network.machines[2] = parent
        network.apply(2, actions)
        network.run()
        #expect(network.outcome(of: 6) == .staged)
        let holdsTheSource = network.committed[6] == network.source
        #expect(holdsTheSource)
    }

    /// Without failures the offer goes down the tree: each node gets it once, from its parent (a flood over
    /// every binomial-graph link delivered it once per neighbour).
    @Test func withoutFailuresEachNodeGetsTheOfferOnceFromItsParent() throws {
        var network = try StagingNetwork(nodes: 30, fileSize: 4 * 1024, chunkSize: 1024)
        network.start()
        network.run()
        for rank in 1...30 {
            #expect(network.offersDelivered[rank] == 1, "node \(rank)")
            #expect(network.committed[rank] == network.source, "node \(rank)")
        }
    }

    /// A node that took the offer and died before passing it on, known only to its parent: the parent floods
    /// the offer, every node reached floods it once, and the orphans (whose parent never sent it) get it.
    @Test func anOfferHeldBackByAFailedNodeReachesItsSubtreeByTheFlood() throws {
        var network = try StagingNetwork(nodes: 30, fileSize: 8 * 1024, chunkSize: 1024)
        let victim = 3
        network.start()
        network.run { $0.machines[victim]?.hasTransfers == true }
        let subtree = (1...30).filter { $0 != victim && network.tree.isInSubtree($0, of: victim) }
        #expect(!subtree.isEmpty && subtree.allSatisfy { network.offersDelivered[$0] == nil })
        network.kill(victim, told: [network.tree.parent(of: victim)!])
        network.run()
        for rank in 1...30 where rank != victim {
            #expect(network.committed[rank] == network.source, "node \(rank)")
        }
    }

    /// A failure known before the offer: the controller floods it from the start.
    @Test func aFailureKnownBeforeTheOfferFloodsIt() throws {
        var network = try StagingNetwork(nodes: 30, fileSize: 4 * 1024, chunkSize: 1024)
        network.kill(1)
        network.start()
        network.run()
        for rank in 2...30 { #expect(network.committed[rank] == network.source, "node \(rank)") }
        #expect((2...30).contains { network.offersDelivered[$0, default: 0] > 1 })
    }

    @Test func emptyFileIsCommittedEverywhere() throws {
        var network = try StagingNetwork(nodes: 3, fileSize: 0, chunkSize: 1024)
        network.start()
        network.run()
        for rank in 1...3 { #expect(network.committed[rank] == [], "node \(rank)") }
    }

    @Test func wrongWholeFileDigestFailsAndDiscards() throws {
        var network = try StagingNetwork(nodes: 3, fileSize: 5000, chunkSize: 1024)
        network.offer.sha256 = String(repeating: "0", count: 64)
        network.start()
        network.run()
        for rank in 1...3 {
            #expect(network.outcome(of: rank) == .failed)
            #expect(network.committed[rank] == nil)
        }
        #expect(network.reports.first?.detail.contains("does not match") == true)
        for rank in 1...3 { #expect(network.machines[rank]?.failureReasons.count == 1) }
        #expect(network.machines[0]?.failureReasons.isEmpty == true)
    }

    @Test func trackerCompletesWhenEveryLiveNodeReported() {
        let offer = StagingOffer(transferID: 1, size: 10, sha256: "", target: .job(index: 0, path: "a"))
        var tracker = StagingTracker(offers: [offer], nodes: [1, 2, 3])
        let first = tracker.record(StagingReport(node: 1, transferID: 1, outcome: .staged, detail: ""))
        let duplicate = tracker.record(StagingReport(node: 1, transferID: 1, outcome: .staged, detail: ""))
        let second = tracker.record(StagingReport(node: 2, transferID: 1, outcome: .skipped, detail: ""))
        #expect(first && !duplicate && second)
        #expect(!tracker.isComplete)
        tracker.nodeFailed(3)
        #expect(tracker.isComplete)
        #expect(tracker.skipped == 1)
    }
}
