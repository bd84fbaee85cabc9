import Control
import CPMIxServer
import Foundation
import Logging
import Synchronization
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// The agent process's PMIx server (OpenPMIx's server library through `CPMIxServer`, loaded on first use):
/// Open MPI's `MPI_Init` connects to it, and its fences cross vhpc's tree as the node's PMI fences (see
/// ``PMIxFenceRelay``). PMIx allows one server per process, so this is a process-wide object; every node
/// agent of the process whose job serves PMIx joins it with its tasks.
public final class PMIxServer: Sendable {
    public static let shared = PMIxServer()

    /// Lists the server's own variables in the environment (set by the shim): an agent process started from
    /// an environment in which a server had already started inherits them, and the list.
    static let ownVariablesList = "VHPC_PMIX_OWN_VARIABLES"

    /// The variables the server's start set in this process's environment for itself (its hwloc and security
    /// settings, where the environment had none), those an agent process started from a server's environment
    /// inherited (listed in `environment`), and the list itself: tasks started from the agent's environment must
    /// not inherit them, whenever that environment was read.
    public static func ownVariables(in environment: [String: String]) -> Set<String> {
        var names: Set<String> = [ownVariablesList]
        for name in (environment[ownVariablesList] ?? "").split(separator: ",") { names.insert(String(name)) }
        var index: Int32 = 0
        while let name = vhpc_pmix_injected_variable(index) {
            names.insert(String(cString: name))
            index += 1
        }
        return names
    }

    /// Why the server cannot serve a job.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    private struct Member {
        var ranks: Range<Int>
        var report: @Sendable (AgentEvent) -> Void
    }

    private struct State {
        var started = false
        /// The sweep of dead agents' node directories has begun (once per process).
        var swept = false
        /// The node directory the library was started with (its PMIx session files).
        var serverDirectory: String?
        var job: PMIxJob?
        var relay = PMIxFenceRelay(agents: [])
        var members: [Int: Member] = [:]
        var connected: Set<Int> = []
        var finalized: Set<Int> = []
    }

    private let state = Mutex(State())
    private let logger = Logger(label: "vhpc.pmix")
    /// The sweep of dead agents' node directories the first start began (``finish()`` waits for it).
    private let sweeping = DispatchGroup()

    private init() {}

    /// ``join(_:report:)`` on a thread of its own: it waits for the library (once per task), which must not hold
    /// one of the few threads Swift's concurrency shares with the agent's links and heartbeats.
    public func joinOffPool(_ plan: NodeTaskPlan, guests: Bool = false, topologyFile: String? = nil,
                            report: @escaping @Sendable (AgentEvent) -> Void) async throws -> [Int: [String: String]] {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try self.join(plan, guests: guests, topologyFile: topologyFile, report: report) })
            }
        }
    }

    /// ``leave(agentRank:)`` on a thread of its own (it waits for the library to drop the namespace).
    public func leaveOffPool(agentRank: Int) async {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                self.leave(agentRank: agentRank)
                continuation.resume()
            }
        }
    }

    /// Serves `plan`'s tasks: starts the server (once per process), registers the job's namespace (once per
    /// job) and each task; returns the environment of each task (from `PMIx_server_setup_fork`, plus where
    /// Open MPI keeps its node-local files). `report` is the node agent's event sink (fences, aborts).
    /// With `guests` the tasks run in VMs (``PMIxGuest``): they connect as the guest's root through the node
    /// agent's relay, keep their session files in the guest, and get the guest's variant of the environment.
    /// `topologyFile` is the node's hwloc XML (``HwlocTopology``), registered for Open MPI as `pmix.ltopo`.
    public func join(_ plan: NodeTaskPlan, guests: Bool = false, topologyFile: String? = nil,
                     report: @escaping @Sendable (AgentEvent) -> Void) throws -> [Int: [String: String]] {
        let job = PMIxJob(jobID: plan.jobID, layout: TaskLayout(tasks: plan.size, nodes: plan.nodeCount),
                          processes: plan.agentProcesses, agentRank: plan.agentRank,
                          namespaceTag: plan.secret.map(Self.namespaceTag) ?? "")
        let tmpdir = try state.withLock { state -> String in
            if let current = state.job {
                guard current.jobID == job.jobID, let tmpdir = state.serverDirectory else {
                    throw Failure(description: "this agent process already serves PMIx for job \(current.jobID)")
                }
                state.members[plan.agentRank] = Member(ranks: plan.taskRanks, report: report)
                return tmpdir
            }
            let tmpdir = try start(&state, jobID: plan.jobID, nodeName: job.local.name)
            let topology = topologyFile.flatMap { try? String(contentsOfFile: $0, encoding: .utf8) }
            let info = job.namespaceInfo(tmpdir: guests ? PMIxGuest.directory : tmpdir, topology: topology)
            let status = vhpc_pmix_register_nspace(job.namespace, Int32(job.local.ranks.count), Self.list(info))
            guard status == 0 else {
                throw Failure(description: "cannot register PMIx namespace \(job.namespace): " + String(cString: vhpc_pmix_error_string(status)))
            }
            state.job = job
            state.relay = PMIxFenceRelay(agents: job.local.agentsWithTasks)
            state.members[plan.agentRank] = Member(ranks: plan.taskRanks, report: report)
            return tmpdir
        }
        var environments: [Int: [String: String]] = [:]
        for rank in plan.taskRanks {
            // A guest's ranks run as its root: over TCP, PMIx's `native` security compares the uid and gid a
            // client claims with the registered ones (the relay's guard and the namespace are what authenticate).
            var status = vhpc_pmix_register_client(job.namespace, UInt32(rank), guests ? 0 : getuid(), guests ? 0 : getgid())
            guard status == 0 else {
                throw Failure(description: "cannot register rank \(rank) with the PMIx server: " + String(cString: vhpc_pmix_error_string(status)))
            }
            var pointer: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
            status = vhpc_pmix_setup_fork(job.namespace, UInt32(rank), &pointer)
            defer { vhpc_pmix_free_env(pointer) }
            guard status == 0 else {
                throw Failure(description: "PMIx_server_setup_fork for rank \(rank): " + String(cString: vhpc_pmix_error_string(status)))
            }
            var environment = Self.nodeEnvironment(tmpdir: tmpdir)
            if !guests, plan.environment[Self.oversubscribeVariable] == nil {
                environment[Self.oversubscribeVariable] = Self.oversubscribed(localTasks: job.local.ranks.count) ? "1" : "0"
            }
            var index = 0
            while let entry = pointer?[index] {
                let text = String(cString: entry)
                if let equals = text.firstIndex(of: "=") {
                    environment[String(text[..<equals])] = String(text[text.index(after: equals)...])
                }
                index += 1
            }
            environments[rank] = guests ? PMIxGuest.environment(environment) : environment
        }
        return environments
    }

    /// Starts the library for node `nodeName` of job `jobID` on a thread of its own: loading it and reading the
    /// node's topology take tens of milliseconds, which an agent process spends alongside the bootstrap
    /// rather than after the launch (``AgentProcessConfiguration/prestartsPMIx``). ``join(_:report:)`` finds
    /// it running (or waits for it); a failure here is left for ``join(_:report:)`` to meet and report.
    public func prestart(jobID: String, nodeName: String) {
        DispatchQueue.global().async {
            _ = try? self.state.withLock { state in try self.start(&state, jobID: jobID, nodeName: nodeName) }
        }
    }

    /// The process's agents are done: the sweep of dead agents' directories a start began has ended when this
    /// returns (a few milliseconds at most), and a prestarted server whose job never joined leaves no node
    /// directory.
    public func finish() {
        sweeping.wait()
        let unused = state.withLock { state -> String? in
            guard state.job == nil, let directory = state.serverDirectory else { return nil }
            state.serverDirectory = nil
            return directory
        }
        if let unused { PMIxNodeDirectory.remove(unused) }
    }

    /// Starts the library once per process, with node `nodeName`'s directory; returns that directory. The first
    /// start in the process also removes the node directories of agents on this machine that died without
    /// removing theirs (``PMIxNodeDirectory/sweepAbandoned()``), on another thread: a `$TMPDIR` of thousands of
    /// entries held the server's start, and so the first task, ~4 ms here. ``finish()`` waits for it.
    private func start(_ state: inout State, jobID: String, nodeName: String) throws -> String {
        if state.started, let directory = state.serverDirectory { return directory }
        if !state.swept {
            state.swept = true
            sweeping.enter()
            DispatchQueue.global(qos: .utility).async { [logger, sweeping] in
                defer { sweeping.leave() }
                let removed = PMIxNodeDirectory.sweepAbandoned()
                if !removed.isEmpty { logger.info("removed \(removed.count) PMIx node directories of dead agents: \(removed.joined(separator: ", "))") }
            }
        }
        let tmpdir = PMIxNodeDirectory.prefix(jobID: jobID) + nodeName
        try PMIxNodeDirectory.create(tmpdir)
        if !state.started {
            var error = [CChar](repeating: 0, count: 512)
            let context = Unmanaged.passUnretained(self).toOpaque()
            let status = vhpc_pmix_server_start(tmpdir, nodeName, pmixEvent, context, &error, error.count)
            guard status == 0 else {
                throw Failure(description: "cannot start the PMIx server: " + String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
            }
            state.started = true
        }
        state.serverDirectory = tmpdir
        return tmpdir
    }

    /// 96 bits of HMAC(job secret, "vhpc pmix namespace"), hex: every agent of the job derives the same.
    static func namespaceTag(_ secret: JobSecret) -> String {
        SwiftCryptoWire().hmacSHA256(key: secret.bytes, data: Array("vhpc pmix namespace".utf8)).prefix(12)
            .map { byte in byte < 16 ? "0" + String(byte, radix: 16) : String(byte, radix: 16) }.joined()
    }

    /// What the tasks need besides PMIx's own variables:
    /// - Open MPI 4.1 decides how it was launched from its environment alone (its "schizo" components know
    ///   mpirun, Slurm, Flux, ALPS and JSM) and runs as a singleton otherwise; `FLUX_JOB_ID` makes it take the
    ///   path of a direct launch under an external PMIx server, which is what vhpc is (it touches nothing else:
    ///   binding is left alone, as under Flux).
    /// - What Open MPI keeps per node goes under the node's directory, not under the machine's name: vhpc
    ///   "nodes" that share a machine would otherwise share (and corrupt) each other's shared-memory segments.
    static func nodeEnvironment(tmpdir: String) -> [String: String] {
        ["FLUX_JOB_ID": "vhpc", "OMPI_MCA_btl_vader_backing_directory": tmpdir, "OMPI_MCA_orte_tmpdir_base": tmpdir]
    }

    /// Open MPI's "more ranks than cores here" flag, which mpirun sets for every rank: with it a rank waiting
    /// for a message or a fence yields its core (`mpi_yield_when_idle`) instead of spinning, which is what lets
    /// the rank it waits for run on an oversubscribed node.
    static let oversubscribeVariable = "OMPI_MCA_mpi_oversubscribe"

    /// Whether `localTasks` ranks on this PMIx node are more than the cores this process may run on (as mpirun
    /// judges a node: its slots are its cores).
    static func oversubscribed(localTasks: Int, cores: Int = ProcessInfo.processInfo.activeProcessorCount) -> Bool {
        localTasks > cores
    }

    /// Whether task `rank` connected to the server (called `PMIx_Init`), and finalized (`PMIx_Finalize`).
    public func session(of rank: Int) -> (connected: Bool, finalized: Bool) {
        state.withLock { ($0.connected.contains(rank), $0.finalized.contains(rank)) }
    }

    /// A release of fence `epoch` reached the node (from ``TaskControl/pmiRelease(epoch:entries:)``); one
    /// carrying a ``PMIFenceLoss`` fails every waiting fence.
    public func release(epoch: Int, entries: [PMIEntry]) {
        if let lost = PMIFenceLoss(entries: entries) {
            for handle in state.withLock({ $0.relay.lose(lost) }) {
                vhpc_pmix_fence_complete(UInt(handle), Self.terminatedWithoutSync, nil, 0)
            }
            return
        }
        guard let (handle, data) = state.withLock({ $0.relay.released(epoch: epoch, entries: entries) }) else { return }
        data.withUnsafeBufferPointer { vhpc_pmix_fence_complete(UInt(handle), 0, $0.baseAddress, $0.count) }
    }

    /// A task of the job left without ending its session (``PMIFenceLoss``): tell the job its fences can never
    /// complete, through the node agent that sends this server's fences (once).
    public func lose(_ lost: PMIFenceLoss) {
        let send = state.withLock { state in
            state.relay.lossContribution(lost).map { ($0, state.members[$0.agent]?.report) }
        }
        guard let (contribution, report) = send, let report else { return }
        report(.pmiFence(epoch: contribution.epoch, entries: contribution.entries))
    }

    /// PMIx's `PMIX_ERR_PROC_TERM_WO_SYNC`: a process terminated without calling `PMIx_Finalize`.
    static let terminatedWithoutSync: Int32 = -200

    /// The node's tasks are gone. When the last node of the process leaves, fences still waiting fail (their
    /// clients are gone too) and the node directory is removed.
    public func leave(agentRank: Int) {
        let ending = state.withLock { state -> (String, [UInt])? in
            state.members[agentRank] = nil
            guard state.members.isEmpty, state.job != nil, let tmpdir = state.serverDirectory else { return nil }
            let pending = state.relay.pending
            state.job = nil
            state.serverDirectory = nil
            state.relay = PMIxFenceRelay(agents: [])
            state.connected = []
            state.finalized = []
            return (tmpdir, pending)
        }
        guard let (tmpdir, pending) = ending else { return }
        for handle in pending { vhpc_pmix_fence_complete(UInt(handle), -1, nil, 0) }
        // The namespace is not deregistered: the server's node directory, which holds the library's shared
        // segments, is this job's and goes now, and the process serves no other job. Deregistering waited for
        // the library's progress thread to unlink those segments one by one, 3-23 ms on the agent's way out
        // after its last task (0.2 ms for the removal alone; debug build, load ~17).
        PMIxNodeDirectory.remove(tmpdir)
    }

    /// An upcall from the library's progress thread.
    fileprivate func handle(kind: Int32, rank: UInt32, status: Int32, message: String, data: [UInt8], handle: UInt) {
        switch Int(kind) {
        case Int(VHPC_PMIX_CONNECTED.rawValue):
            state.withLock { _ = $0.connected.insert(Int(rank)) }
        case Int(VHPC_PMIX_FINALIZED.rawValue):
            state.withLock { _ = $0.finalized.insert(Int(rank)) }
        case Int(VHPC_PMIX_ABORT.rawValue):
            // Its session ends here: the abort is its failure, with its own message.
            let report = state.withLock { state in
                state.finalized.insert(Int(rank))
                return state.members.values.first { $0.ranks.contains(Int(rank)) }?.report
            }
            let detail = message.isEmpty ? "" : ": \(message)"
            let code = status == 0 ? 1 : status
            report?(.taskExited(task: Int(rank), status: code, message: "rank \(rank) called MPI_Abort (exit code \(code))\(detail)"))
        case Int(VHPC_PMIX_FENCE.rawValue):
            let sends = state.withLock { state in
                state.relay.loss != nil ? nil : state.relay.entered(data: data, handle: handle).map { ($0, state.members[$0.agent]?.report) }
            }
            guard let sends else {
                vhpc_pmix_fence_complete(handle, Self.terminatedWithoutSync, nil, 0)
                return
            }
            for (contribution, report) in sends {
                guard let report else {
                    logger.error("PMIx fence: node agent \(contribution.agent) has not joined")
                    continue
                }
                report(.pmiFence(epoch: contribution.epoch, entries: contribution.entries))
            }
        default:
            break
        }
    }

    /// A C info list from a description (the caller hands it to the library, which frees it).
    private static func list(_ infos: [PMIxInfo]) -> OpaquePointer? {
        let list = vhpc_pmix_info_new()
        for info in infos {
            switch info.value {
            case .string(let value): vhpc_pmix_info_string(list, info.key, value)
            case .uint32(let value): vhpc_pmix_info_uint32(list, info.key, value)
            case .uint16(let value): vhpc_pmix_info_uint16(list, info.key, value)
            case .rank(let value): vhpc_pmix_info_rank(list, info.key, value)
            case .bool(let value): vhpc_pmix_info_bool(list, info.key, value ? 1 : 0)
            case .infos(let items): vhpc_pmix_info_array(list, info.key, Self.list(items))
            }
        }
        return list
    }
}

/// The C shim's event function: forwards to the server object passed as context.
private func pmixEvent(context: UnsafeMutableRawPointer?, kind: Int32, rank: UInt32, status: Int32,
                       message: UnsafePointer<CChar>?, data: UnsafePointer<UInt8>?, size: Int, handle: UInt) {
    guard let context else { return }
    let server = Unmanaged<PMIxServer>.fromOpaque(context).takeUnretainedValue()
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    server.handle(kind: kind, rank: rank, status: status, message: message.map { String(cString: $0) } ?? "", data: bytes, handle: handle)
}
