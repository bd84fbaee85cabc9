import Control

/// One node's PMI-1 server, sans I/O: the node's tasks (MPI processes) talk to it over `PMI_FD`, and its
/// fences go over the agent tree (``AgentEvent/pmiFence(epoch:entries:)`` up,
/// ``TaskControl/pmiRelease(epoch:entries:)`` down), so a barrier costs the node one message each way.
///
/// Puts are visible to the node's own tasks at once and to every task after the next barrier, as PMI-1
/// promises. `PMI_process_mapping` is answered from the layout so MPI libraries know which ranks share a
/// node (for VMs: one rank per "node").
public struct PMINodeServer: Sendable {
    /// What the server knows about the job.
    public struct Configuration: Sendable, Hashable {
        /// The job's key-value space name (one per job).
        public var kvsName: String
        /// Number of tasks in the job.
        public var size: Int
        /// Global ranks served here.
        public var localRanks: Range<Int>
        /// MPICH's `PMI_process_mapping` value, e.g. `(vector,(0,4,1))`.
        public var processMapping: String
        /// If set, a barrier in which no local task has put anything is fenced this long after its first
        /// task entered, even if others have not: a late task is let out at once when it comes. This works
        /// around MPICH 4.0.2's finalize hang (bug #6596: with three or more ranks over TCP, one rank can
        /// spin in a UCX disconnect that needs the others to leave the final barrier). Only safe when every
        /// task puts before the barriers that carry data, as MPICH's do with one task per node (VMs).
        public var lenientAfter: Duration?

        public init(kvsName: String, size: Int, localRanks: Range<Int>, processMapping: String, lenientAfter: Duration? = nil) {
            self.kvsName = kvsName
            self.size = size
            self.localRanks = localRanks
            self.processMapping = processMapping
            self.lenientAfter = lenientAfter
        }
    }

    /// What the shell must do.
    public enum Output: Sendable, Hashable {
        /// Write `line` to task `rank`'s PMI connection.
        case reply(rank: Int, line: String)
        /// Every local task is in the barrier: send this node's fence up the tree.
        case fence(epoch: Int, entries: [PMIEntry])
        /// Task `rank` called `PMI_Abort` (MPI_Abort) with exit code `code`.
        case abort(rank: Int, code: Int32, message: String)
        /// End task `rank`'s connection without a reply: its barrier can never complete (``PMIFenceLoss``).
        /// A closed connection is an error every PMI-1 client sees (MPICH ignores `rc` in `barrier_out`).
        case disconnect(rank: Int)
        /// Task `rank` broke the protocol (a malformed line, an oversized key or value): fail it, and close its
        /// connection; the server keeps serving the others.
        case fail(rank: Int, message: String)
    }

    /// Limits announced in `maxes` (MPICH's hydra uses the same).
    public static let kvsNameMax = 256, keyMax = 64, valueMax = 1024

    public let configuration: Configuration
    private var visible: [String: String]
    private var pending: [PMIEntry] = []
    private var inBarrier: Set<Int> = []
    private var epoch = 0
    /// Barriers each task has entered so far.
    private var entered: [Int: Int] = [:]
    /// This epoch's fence is sent.
    private var fenced = false
    /// This node told the job that a local task left without ending its session.
    private var lossSent = false
    /// Tasks that ended their session: `finalize`, or `abort` (its failure is reported with its own message).
    private var ended: Set<Int> = []
    /// When the first task entered this epoch's barrier.
    private var barrierOpened: Duration?
    /// Why the job's fences can never complete (``PMIFenceLoss``): every barrier is answered with an error.
    public private(set) var loss: PMIFenceLoss?

    public init(configuration: Configuration) {
        self.configuration = configuration
        visible = ["PMI_process_mapping": configuration.processMapping]
    }

    /// MPICH's `PMI_process_mapping` for a block layout: `(vector,(firstNode,nodeCount,tasksPerNode),…)`.
    public static func processMapping(_ layout: TaskLayout, tasksPerVM: Bool) -> String {
        if tasksPerVM { return "(vector,(0,\(layout.tasks),1))" }
        var blocks: [(first: Int, count: Int, perNode: Int)] = []
        for node in 0..<layout.nodes {
            let perNode = layout.taskCount(onNode: node)
            guard perNode > 0 else { continue }
            if let last = blocks.last, last.perNode == perNode, last.first + last.count == node {
                blocks[blocks.count - 1].count += 1
            } else {
                blocks.append((node, 1, perNode))
            }
        }
        return "(vector," + blocks.map { "(\($0.first),\($0.count),\($0.perNode))" }.joined(separator: ",") + ")"
    }

    /// Handles one line from task `rank` at `now` (any monotonic time base; used only with `lenientAfter`).
    public mutating func receive(_ line: String, from rank: Int, now: Duration = .zero) -> [Output] {
        guard configuration.localRanks.contains(rank) else { return [] }
        guard let command = PMICommand(line: line) else {
            // Multi-line spawn requests (`mcmd=spawn` … `endcmd`) are not supported.
            if line.hasPrefix("endcmd") { return [reply(rank, "spawn_result", ["rc": "-1"])] }
            if line.hasPrefix("mcmd=") || line.contains("=") && !line.contains(" ") { return [] }
            if line.allSatisfy({ $0 == " " || $0 == "\r" }) { return [] }
            return [.fail(rank: rank, message: "rank \(rank): malformed PMI-1 line (no cmd=): \(Self.excerpt(line))")]
        }
        let config = configuration
        switch command.name {
        case "init":
            return [reply(rank, "response_to_init", ["pmi_version": "1", "pmi_subversion": "1", "rc": "0"])]
        case "get_maxes":
            return [reply(rank, "maxes", ["kvsname_max": "\(Self.kvsNameMax)", "keylen_max": "\(Self.keyMax)",
                                          "vallen_max": "\(Self.valueMax)", "rc": "0"])]
        case "get_appnum":
            return [reply(rank, "appnum", ["appnum": "0", "rc": "0"])]
        case "get_my_kvsname":
            return [reply(rank, "my_kvsname", ["kvsname": config.kvsName, "rc": "0"])]
        case "get_universe_size":
            return [reply(rank, "universe_size", ["size": "\(config.size)", "rc": "0"])]
        case "put":
            guard let key = command.fields["key"], let value = command.fields["value"] else {
                return [.fail(rank: rank, message: "rank \(rank): malformed PMI-1 put (needs key= and value=): \(Self.excerpt(line))")]
            }
            guard !key.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                return [.fail(rank: rank, message: "rank \(rank): PMI-1 put refused: its key contains a control character")]
            }
            guard key.utf8.count <= Self.keyMax, value.utf8.count <= Self.valueMax else {
                return [.fail(rank: rank, message: "rank \(rank): PMI-1 put of key '\(Self.excerpt(key))' refused: key of \(key.utf8.count) bytes (limit \(Self.keyMax)), value of \(value.utf8.count) bytes (limit \(Self.valueMax))")]
            }
            visible[key] = value
            pending.append(PMIEntry(key: key, value: value))
            return [reply(rank, "put_result", ["rc": "0", "msg": "success"])]
        case "get":
            guard let key = command.fields["key"], let value = visible[key] else {
                return [reply(rank, "get_result", ["rc": "-1", "msg": "key_\(command.fields["key"] ?? "")_not_found"])]
            }
            return [reply(rank, "get_result", ["rc": "0", "msg": "success", "value": value])]
        case "barrier_in":
            if loss != nil { return [.disconnect(rank: rank)] }
            let index = entered[rank, default: 0]
            entered[rank] = index + 1
            // A barrier released without this task (lenient mode): let it out at once.
            if index < epoch { return [reply(rank, "barrier_out", ["rc": "0"])] }
            inBarrier.insert(rank)
            if barrierOpened == nil { barrierOpened = now }
            guard !fenced, inBarrier.count == config.localRanks.count else { return [] }
            return [fence()]
        case "finalize":
            ended.insert(rank)
            return [reply(rank, "finalize_ack", ["rc": "0"])]
        case "abort":
            ended.insert(rank)
            return [.abort(rank: rank, code: command.fields["exitcode"].flatMap { Int32($0) } ?? 1,
                           message: command.fields["message"] ?? "")]
        default:
            return [reply(rank, command.name + "_result", ["rc": "-1", "msg": "unsupported"])]
        }
    }

    /// Whether task `rank` ended its session (`finalize` or `abort`).
    public func hasEnded(_ rank: Int) -> Bool {
        ended.contains(rank)
    }

    /// Fences a barrier without puts early (see ``Configuration/lenientAfter``).
    public mutating func tick(now: Duration) -> [Output] {
        guard let lenientAfter = configuration.lenientAfter, !fenced, pending.isEmpty, !inBarrier.isEmpty,
              let opened = barrierOpened, now - opened >= lenientAfter else { return [] }
        return [fence()]
    }

    /// Every node is in fence `epoch`: learn everyone's puts and let the local tasks out of the barrier. A
    /// release that carries a ``PMIFenceLoss`` (whatever its epoch) lets them out with an error instead, and
    /// every later barrier too: their connections end.
    public mutating func release(epoch released: Int, entries: [PMIEntry]) -> [Output] {
        if loss == nil, let lost = PMIFenceLoss(entries: entries) {
            loss = lost
            fenced = true
            let waiting = inBarrier.sorted()
            inBarrier.removeAll()
            return waiting.map { .disconnect(rank: $0) }
        }
        guard released == epoch, loss == nil else { return [] }
        for entry in entries { visible[entry.key] = entry.value }
        epoch += 1
        fenced = false
        barrierOpened = nil
        let waiting = inBarrier.sorted()
        inBarrier.removeAll()
        return waiting.map { reply($0, "barrier_out", ["rc": "0"]) }
    }

    /// A local task left without ending its session (``PMIFenceLoss``): this node's fence that tells the job
    /// its fences can never complete (sent once; nothing once the job knows).
    public mutating func lose(_ lost: PMIFenceLoss) -> [Output] {
        guard loss == nil, !lossSent else { return [] }
        lossSent = true
        fenced = true
        defer { pending.removeAll() }
        return [.fence(epoch: epoch, entries: pending + [lost.entry])]
    }

    /// The start of a bad line, for a one-line message.
    static func excerpt(_ text: String) -> String {
        text.count <= 60 ? text : String(text.prefix(60)) + "…"
    }

    private mutating func fence() -> Output {
        fenced = true
        defer { pending.removeAll() }
        return .fence(epoch: epoch, entries: pending)
    }

    private func reply(_ rank: Int, _ name: String, _ fields: KeyValuePairs<String, String>) -> Output {
        .reply(rank: rank, line: PMICommand.line(name, fields))
    }
}
