import Control
import Topology
import NIOCore
import Testing
import Wire

/// PMI over the tree, without sockets: the controller's fences, and the agent machines routing a fence up and
/// its release down (the node's PMI-1 server is NodeAgent's: NodeAgentTests' PMIServerTests).
@Suite struct PMITests {
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
        // Opaque entries as a PMIx server's fence carries them (NodeAgent's PMIxFenceRelay: 256 KiB chunks).
        let pmixKey = "\u{0}pmix"
        let chunk = [UInt8](repeating: 7, count: 256 * 1024)
        let mine = (0..<12).map { PMIEntry(key: pmixKey, bytes: chunk + [UInt8($0)]) }
        let theirs = (0..<4).map { PMIEntry(key: pmixKey, bytes: [UInt8($0)] + chunk) }
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
@Suite struct LenientPMIFenceTests {
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
