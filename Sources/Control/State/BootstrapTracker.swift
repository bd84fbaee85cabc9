/// One agent's view of bootstrapping its boot-tree subtree: which children still have to connect (each within
/// the handshake window) and report their own subtree (each by a deadline set when it connects), and what
/// they reported.
public struct BootstrapTracker: Sendable {
    private var deadlines: [Int: Duration] = [:]
    private var awaitingReport: Set<Int>
    private var connectedChildren: Set<Int> = []
    /// Endpoints reported so far (this agent's own first).
    public private(set) var endpoints: [AgentEndpoint]
    /// Failures reported so far.
    public private(set) var failed: [FailureNotice] = []

    /// Tracks `children`, each of which must connect before `deadline`.
    public init(own: AgentEndpoint, children: [Int], deadline: Duration) {
        endpoints = [own]
        awaitingReport = Set(children)
        for child in children { deadlines[child] = deadline }
    }

    /// Whether every child has reported or failed.
    public var isComplete: Bool { awaitingReport.isEmpty }

    /// Children not yet reported.
    public var pending: [Int] { awaitingReport.sorted() }

    /// The child connected: its handshake deadline no longer applies; its subtree's report is due by
    /// `reportBy` (a child stopped after its handshake must not keep the bootstrap waiting for ever).
    public mutating func connected(_ child: Int, reportBy: Duration) {
        guard awaitingReport.contains(child) else { return }
        deadlines[child] = reportBy
        connectedChildren.insert(child)
    }

    /// Whether `child` connected (its deadline, if it expires, is the report's, not the handshake's).
    public func hasConnected(_ child: Int) -> Bool { connectedChildren.contains(child) }

    /// The child's subtree report arrived. Returns false if it was not expected.
    @discardableResult
    public mutating func reported(_ child: Int, endpoints more: [AgentEndpoint], failed moreFailed: [FailureNotice]) -> Bool {
        guard awaitingReport.remove(child) != nil else { return false }
        deadlines[child] = nil
        endpoints += more
        failed += moreFailed
        return true
    }

    /// The child failed before reporting. Returns false if it was not pending.
    @discardableResult
    public mutating func childFailed(_ notice: FailureNotice) -> Bool {
        guard awaitingReport.remove(notice.rank) != nil else { return false }
        deadlines[notice.rank] = nil
        failed.append(notice)
        return true
    }

    /// Children whose handshake or report deadline passed (removed from the deadline list; the caller fails
    /// them).
    public mutating func expired(now: Duration) -> [Int] {
        // Asked on every tick: nothing allocated when nothing is late (the common case).
        guard deadlines.values.contains(where: { $0 <= now }) else { return [] }
        let late = deadlines.filter { $0.value <= now }.map(\.key).sorted()
        for child in late { deadlines[child] = nil }
        return late
    }
}
