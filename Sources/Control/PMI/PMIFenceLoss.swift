/// A job whose fences can never complete: one of its tasks left without ending its PMI session (it died, or
/// exited before `MPI_Init` or without `MPI_Finalize`), so any barrier it has not passed would wait for it
/// forever. Its node sends one fence carrying ``entry``; the controller's ``PMIFenceTracker`` then releases
/// every open fence, and every later one at once, with that entry; each node answers its waiting tasks with
/// an error (PMI-1: its connection ends; PMIx: the fence fails with `PMIX_ERR_PROC_TERM_WO_SYNC`) and every
/// later barrier the same way. So under `--on-failure continue` the other ranks get an error from MPI and
/// end instead of hanging.
///
/// Not covered: OpenPMIx 4.2 starts a node's part of a fence only once every local rank entered it, and offers
/// the host no way to drop a rank that died before connecting: Open MPI ranks sharing a node with a rank
/// that died before `MPI_Init` still wait (under the default `-K 1` the job ends anyway).
public struct PMIFenceLoss: Sendable, Hashable {
    /// Key of the entry that marks a fence or release as lost (PMI-1 keys never start with a NUL).
    public static let key = "\u{0}lost"

    /// The task (global rank) that left.
    public var rank: Int
    /// One line for people.
    public var reason: String { "rank \(rank) ended without MPI_Finalize" }

    public init(rank: Int) {
        self.rank = rank
    }

    /// The loss that `entries` carry, if any.
    public init?(entries: [PMIEntry]) {
        guard let entry = entries.first(where: { $0.key == Self.key }), let rank = Int(entry.value) else { return nil }
        self.rank = rank
    }

    /// The marker entry.
    public var entry: PMIEntry { PMIEntry(key: Self.key, value: String(rank)) }

    /// The loss task `rank`'s end causes, or nil: only a task that never ended its PMI session and either spoke
    /// PMI or failed (a task that exits 0 without PMI ran no MPI and holds up no fence).
    public init?(rank: Int, status: Int32, connected: Bool, finalized: Bool) {
        guard !finalized, connected || status != 0 else { return nil }
        self.rank = rank
    }
}
