/// Where an agent can be reached: the topology rank of the root agent hosting it (0 is the controller)
/// and its slot on that rank (0 root agent or controller, 1 session agent, 2 + i tool agent i).
///
/// Written `rank.slot`, e.g. `5.1` for the session agent of the node at rank 5.
public struct AgentAddress: Sendable, Hashable, Comparable, CustomStringConvertible, LosslessStringConvertible {
    /// Rank in the boot topology.
    public let rank: Int
    /// Slot within the rank.
    public let slot: Int

    /// The address `rank.slot`.
    public init(rank: Int, slot: Int) {
        self.rank = rank
        self.slot = slot
    }

    /// Parses `rank.slot`.
    public init?(_ description: String) {
        let parts = description.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let rank = Int(parts[0]), let slot = Int(parts[1]), rank >= 0, slot >= 0 else {
            return nil
        }
        self.init(rank: rank, slot: slot)
    }

    public static func < (lhs: AgentAddress, rhs: AgentAddress) -> Bool {
        (lhs.rank, lhs.slot) < (rhs.rank, rhs.slot)
    }

    public var description: String { "\(rank).\(slot)" }
}
