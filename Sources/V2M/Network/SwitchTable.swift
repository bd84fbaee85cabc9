/// The forwarding logic of one node's job switch (pure; ``JobSwitch`` is its I/O shell).
///
/// Ports are the node's VMs and the job's other nodes. Source MACs are learned; a frame to a learned
/// unicast MAC goes to that port only; broadcast, multicast and unknown unicast frames are flooded.
/// Split horizon keeps the mesh of nodes loop-free: a frame that came from another node is delivered to
/// this node's VMs only, never sent on to a third node (every node floods to every other directly).
public struct SwitchTable: Sendable {
    /// Where a frame enters or leaves the switch.
    public enum Port: Hashable, Sendable {
        /// The VM running task `rank` on this node.
        case vm(rank: Int)
        /// The switch of another node, by its agent rank.
        case node(agentRank: Int)
    }

    public let localVMs: [Int]
    public let peerNodes: [Int]
    public private(set) var learned: [UInt64: Port] = [:]
    /// Learned entries kept at most (a job has few MACs; this only bounds a misbehaving guest).
    static let capacity = 65_536

    public init(localVMs: [Int], peerNodes: [Int]) {
        self.localVMs = localVMs
        self.peerNodes = peerNodes
    }

    /// The ports `frame` (an Ethernet frame) leaves by, having entered by `port`.
    public mutating func forward(_ frame: some Collection<UInt8>, from port: Port) -> [Port] {
        guard frame.count >= 14 else { return [] }
        let destination = Self.mac(frame, at: 0)
        let source = Self.mac(frame, at: 6)
        if !Self.isGroup(source), learned[source] != port, learned.count < Self.capacity || learned[source] != nil {
            learned[source] = port
        }
        let fromNode: Bool
        if case .node = port { fromNode = true } else { fromNode = false }
        if !Self.isGroup(destination), let target = learned[destination] {
            if target == port { return [] }
            if fromNode, case .node = target { return [] }
            return [target]
        }
        var out = localVMs.map { Port.vm(rank: $0) }.filter { $0 != port }
        if !fromNode { out += peerNodes.map { Port.node(agentRank: $0) } }
        return out
    }

    /// The 48-bit MAC at byte `offset` as an integer.
    static func mac(_ frame: some Collection<UInt8>, at offset: Int) -> UInt64 {
        var value: UInt64 = 0
        var index = frame.index(frame.startIndex, offsetBy: offset)
        for _ in 0..<6 {
            value = value << 8 | UInt64(frame[index])
            index = frame.index(after: index)
        }
        return value
    }

    /// Broadcast and multicast addresses have the group bit (lowest bit of the first byte) set.
    static func isGroup(_ mac: UInt64) -> Bool { (mac >> 40) & 1 == 1 }
}
