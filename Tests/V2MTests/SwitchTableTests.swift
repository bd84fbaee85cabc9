import Testing
@testable import V2M

/// The job switch's forwarding decisions: learning, flooding, split horizon.
@Suite struct SwitchTableTests {
    typealias Port = SwitchTable.Port

    static func mac(_ last: UInt8, group: Bool = false) -> [UInt8] { [group ? 0x01 : 0x52, 0x56, 0, 0, 0, last] }
    static let broadcast: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]

    static func frame(to destination: [UInt8], from source: [UInt8]) -> [UInt8] {
        destination + source + [0x08, 0x00] + [UInt8](repeating: 0xAB, count: 46)
    }

    /// Node 1 holds ranks 0 and 1; nodes 2 and 3 are peers.
    func table() -> SwitchTable { SwitchTable(localVMs: [0, 1], peerNodes: [2, 3]) }

    @Test func broadcastFromAVMReachesTheOtherVMsAndEveryNode() {
        var table = table()
        let out = table.forward(Self.frame(to: Self.broadcast, from: Self.mac(1)), from: .vm(rank: 0))
        #expect(Set(out) == [.vm(rank: 1), .node(agentRank: 2), .node(agentRank: 3)])
    }

    @Test func framesFromANodeAreNeverSentToAnotherNode() {
        var table = table()
        let flooded = table.forward(Self.frame(to: Self.broadcast, from: Self.mac(9)), from: .node(agentRank: 2))
        #expect(Set(flooded) == [.vm(rank: 0), .vm(rank: 1)])
        // A MAC learned behind node 3, addressed from node 2: dropped, not relayed.
        _ = table.forward(Self.frame(to: Self.broadcast, from: Self.mac(7)), from: .node(agentRank: 3))
        #expect(table.forward(Self.frame(to: Self.mac(7), from: Self.mac(9)), from: .node(agentRank: 2)).isEmpty)
    }

    @Test func learnedUnicastGoesToOnePort() {
        var table = table()
        _ = table.forward(Self.frame(to: Self.broadcast, from: Self.mac(5)), from: .node(agentRank: 3))
        _ = table.forward(Self.frame(to: Self.broadcast, from: Self.mac(1)), from: .vm(rank: 1))
        #expect(table.forward(Self.frame(to: Self.mac(5), from: Self.mac(2)), from: .vm(rank: 0)) == [.node(agentRank: 3)])
        #expect(table.forward(Self.frame(to: Self.mac(1), from: Self.mac(5)), from: .node(agentRank: 3)) == [.vm(rank: 1)])
        // Back to where it came from: nothing.
        #expect(table.forward(Self.frame(to: Self.mac(1), from: Self.mac(2)), from: .vm(rank: 1)).isEmpty)
    }

    @Test func unknownUnicastIsFloodedAndAMovedMACIsRelearned() {
        var table = table()
        #expect(Set(table.forward(Self.frame(to: Self.mac(4), from: Self.mac(1)), from: .vm(rank: 0)))
                == [.vm(rank: 1), .node(agentRank: 2), .node(agentRank: 3)])
        _ = table.forward(Self.frame(to: Self.broadcast, from: Self.mac(4)), from: .node(agentRank: 2))
        _ = table.forward(Self.frame(to: Self.broadcast, from: Self.mac(4)), from: .node(agentRank: 3))  // migrated
        #expect(table.forward(Self.frame(to: Self.mac(4), from: Self.mac(1)), from: .vm(rank: 0)) == [.node(agentRank: 3)])
    }

    @Test func groupSourcesAreNotLearnedAndRuntsAreDropped() {
        var table = table()
        _ = table.forward(Self.frame(to: Self.broadcast, from: Self.mac(3, group: true)), from: .vm(rank: 0))
        #expect(table.learned.isEmpty)
        #expect(table.forward([0xFF, 0xFF, 0xFF], from: .vm(rank: 0)).isEmpty)
    }
}
