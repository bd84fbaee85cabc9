import Control
import Foundation
import HostProcess
import Logging
import NIOCore
import Synchronization
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// Runs a node's tasks as ordinary processes: each in a session of its own (and so a process group, as
/// hydra's ranks; see ``ProcessSpawner``; oversubscribed Open MPI ranks in a process group of their own in the
/// agent's session, see ``startsInSessionOfItsOwn(_:servesPMIx:)``), killed by the kernel if the agent
/// dies (parent-death signal), stdout/stderr read line by line, stdin for the tasks `--input` names (rank 0 by
/// default; see ``StdinTarget``), end-of-file for the others. With PMI (the
/// default) each task gets a socketpair as `PMI_FD` (fd 3) to the node's ``PMINodeShell``, so MPICH
/// programs wire up without `mpiexec`.
public struct ProcessTaskBackend: TaskBackend {
    /// Environment every task starts from (the agent's own by default, less what the node's PMIx server set in
    /// it for itself: ``PMIxServer/ownVariables(in:)``).
    public var baseEnvironment: [String: String]
    /// Time between SIGTERM and SIGKILL on terminate.
    public var killGrace: Duration
    let logger: Logger
    /// The job's start, worked out once for every node hosted here.
    private let starts = JobStartCache()

    public init(baseEnvironment: [String: String] = ProcessInfo.processInfo.environment, killGrace: Duration = .milliseconds(500), logger: Logger) {
        self.baseEnvironment = baseEnvironment
        self.killGrace = killGrace
        self.logger = logger
    }

    /// Whether a task gets a session of its own. Under the kernel's autogroup scheduling a session is one
    /// CPU-fairness group, and `sched_yield` hands the CPU only to another task of the caller's group. Open MPI's
    /// ranks on an oversubscribed node (served PMIx, `OMPI_MCA_mpi_oversubscribe=1`) yield while they wait
    /// (`mpi_yield_when_idle`): alone in their sessions, their yields gave the CPU to nobody and every idle rank
    /// spun out its slice; they share the agent's session instead, as under mpirun or srun (64 ranks on 2
    /// cores: 3.8 s instead of 5.1 s). Every other task (MPICH's ranks spin without yielding, and lose when they
    /// share a group with their agent) keeps a session of its own.
    static func startsInSessionOfItsOwn(_ environment: [String: String], servesPMIx: Bool) -> Bool {
        !(servesPMIx && environment[PMIxServer.oversubscribeVariable] == "1")
    }

    public func run(_ plan: NodeTaskPlan, controls: AsyncStream<TaskControl>, report: @escaping @Sendable (AgentEvent) -> Void) async {
        guard !plan.taskRanks.isEmpty else { return }
        let start: JobStartCache.Start
        // Read when the tasks start: a PMIx server started meanwhile may have set its own variables in the
        // environment this backend copied.
        let ownVariables = PMIxServer.ownVariables(in: baseEnvironment)
        let nodeEnvironment = baseEnvironment.filter { !ownVariables.contains($0.key) }
        switch starts.start(of: plan, nodeEnvironment: nodeEnvironment) {
        case .success(let found): start = found
        case .failure(let error):
            Self.reportStartFailure(error, ranks: plan.taskRanks, report: report)
            return
        }
        let (directory, executable, libraries) = (start.directory, start.executable, start.libraries)
        let servesPMIx = libraries.map(plan.servesPMIx(to:)) ?? plan.usesPMIx
        let pmiWriters = PMIWriters()
        let pmi = (libraries.map(plan.servesPMI1(to:)) ?? plan.usesPMI) ? PMINodeShell(
            configuration: plan.pmiConfiguration(tasksPerVM: false), logger: logger,
            send: { rank, bytes in
                pmiWriters.write(bytes, to: rank)
            }, disconnect: { rank in pmiWriters.shutdown(rank) }, report: report) : nil
        var pmixEnvironments: [Int: [String: String]] = [:]
        if servesPMIx {
            do {
                pmixEnvironments = try await PMIxServer.shared.joinOffPool(plan, topologyFile: start.topologyFile, report: report)
            } catch {
                // --mpi pmix asked for it; under auto an MPICH program still runs (and an Open MPI one is caught
                // as a singleton when it exits).
                if plan.mpiMode == .pmix {
                    report(.launchFailed(message: "node \(plan.node) (\(plan.host)): \(error)"))
                    await PMIxServer.shared.leaveOffPool(agentRank: plan.agentRank)
                    return
                }
                logger.warning("node \(plan.node): no PMIx for this job: \(error)")
            }
        }
        defer { if servesPMIx { PMIxServer.shared.leave(agentRank: plan.agentRank) } }
        let exitCheck = MPIExitCheck(plan: plan, executable: executable, libraries: libraries, servedPMIx: servesPMIx)
        typealias Started = (rank: Int, pid: pid_t, stdinFD: Int32?, out: Int32, err: Int32, pmi: Int32?)
        /// Reads a started task's streams and PMI connection until it exits, then reports its exit.
        @Sendable func serve(_ task: Started) async -> Bool {
            async let out: Void = PipeReader(fd: task.out).run { data, eos in
                report(.taskOutput(task: task.rank, stream: .stdout, data: data, endOfStream: eos))
            }
            async let err: Void = PipeReader(fd: task.err).run { data, eos in
                report(.taskOutput(task: task.rank, stream: .stderr, data: data, endOfStream: eos))
            }
            async let pmiDone: Void = Self.servePMI(task.pmi, rank: task.rank, shell: pmi, writers: pmiWriters)
            let status = await ChildReaper.shared.waitForExit(task.pid)
            // A descendant may still hold the task's PMI socket (fd 3 is inherited): end it now.
            pmiWriters.shutdown(task.rank)
            _ = await (out, err, pmiDone)
            let pmix = PMIxServer.shared.session(of: task.rank)
            let connected = pmi?.hasSpoken(task.rank) == true || pmix.connected
            let finalized = pmi?.hasFinalized(task.rank) == true || pmix.finalized
            if let lost = PMIFenceLoss(rank: task.rank, status: status, connected: connected, finalized: finalized) {
                pmi?.lose(lost)
                if servesPMIx { PMIxServer.shared.lose(lost) }
            }
            if let message = exitCheck.failure(rank: task.rank, status: status, connected: connected, finalized: finalized) {
                report(.taskExited(task: task.rank, status: status == 0 ? 1 : status, message: message))
            } else {
                report(.taskExited(task: task.rank, status: status, message: ""))
            }
            return true
        }
        await withTaskGroup(of: Bool.self) { group in
            var started: [Started] = []
            /// A task whose descriptors and environment are ready, not started yet.
            struct Prepared {
                let rank: Int
                let environment: [String: String]
                let childStdin: Int32, outPipe: (read: Int32, write: Int32), errPipe: (read: Int32, write: Int32)
                let stdinFD: Int32?
                let pmiPair: (agent: Int32, child: Int32)?
                /// The child's ends: closed once it started (or did not).
                func closeChildEnds() {
                    for fd in [childStdin, outPipe.write, errPipe.write, pmiPair?.child ?? -1] where fd >= 0 { close(fd) }
                }
                /// The agent's ends of a task that did not start: nothing will read or write them.
                func closeAgentEnds() {
                    for fd in [outPipe.read, errPipe.read, stdinFD ?? -1, pmiPair?.agent ?? -1] where fd >= 0 { close(fd) }
                }
            }
            func prepare(_ rank: Int) throws -> Prepared {
                let outPipe = try Self.pipe()
                let errPipe = try Self.pipe()
                var stdinFD: Int32? = nil
                var childStdin = open("/dev/null", O_RDONLY | O_CLOEXEC)
                var pmiPair: (agent: Int32, child: Int32)?
                do {
                    if plan.stdinTarget.includes(rank) {
                        let inPipe = try Self.pipe()
                        close(childStdin)
                        childStdin = inPipe.read
                        stdinFD = inPipe.write
                    }
                    if pmi != nil { pmiPair = try Self.socketPair() }
                } catch {
                    for fd in [childStdin, outPipe.read, outPipe.write, errPipe.read, errPipe.write, stdinFD ?? -1] where fd >= 0 { close(fd) }
                    throw error
                }
                var environment = plan.environment(forTask: rank, launchEnvironment: start.environment)
                if pmiPair != nil { environment.merge(plan.pmiEnvironment(forTask: rank, fd: 3)) { _, pmi in pmi } }
                if let pmix = pmixEnvironments[rank] { environment.merge(pmix) { _, pmix in pmix } }
                return Prepared(rank: rank, environment: environment, childStdin: childStdin, outPipe: outPipe, errPipe: errPipe,
                                stdinFD: stdinFD, pmiPair: pmiPair)
            }
            let arguments = plan.arguments
            // Tasks start in batches, each in one visit to the spawn thread (as hydra's proxy forks its ranks in
            // one loop): a visit per task cost two thread hand-offs each, which spread 4 ranks' execs over 35-70 ms
            // at load ~15, while MPICH's first ranks spin in their shared-memory barrier waiting for the last.
            // Within a batch the children start at once (ProcessSpawner.spawnBatch): a vfork per task made the
            // spawn thread wait a scheduler slice for each while earlier ranks initialised (64 MPICH ranks on 2
            // cores: 4-16 ms per task, the last rank started ~250 ms after hydra's). A batch is bounded to keep the
            // descriptors open at once bounded too.
            launch: for batch in Self.batches(plan.taskRanks) {
                var prepared: [Prepared] = []
                var failure: (any Error)?
                for rank in batch {
                    do { prepared.append(try prepare(rank)) } catch { failure = error; break }
                }
                let ready = prepared
                // With the batches of this process's other agents that are ready by then (SpawnThread.spawnBatch).
                let results = await SpawnThread.shared.spawnBatch(ready.map { task in
                    ProcessSpawner.Request(
                        executable: executable, arguments: arguments, environment: task.environment,
                        streams: .init(stdin: task.childStdin, stdout: task.outPipe.write, stderr: task.errPipe.write, extraFD: task.pmiPair?.child ?? -1),
                        newProcessGroup: true, newSession: Self.startsInSessionOfItsOwn(task.environment, servesPMIx: servesPMIx),
                        parentDeathSignal: SIGKILL, directory: directory)
                })
                for task in prepared { task.closeChildEnds() }
                for (index, task) in prepared.enumerated() {
                    guard index < results.count, case .success(let pid) = results[index] else {
                        task.closeAgentEnds()
                        if index < results.count, case .failure(let error) = results[index], failure == nil { failure = error }
                        continue
                    }
                    if let pmiPair = task.pmiPair {
                        // Replies go through a duplicate: the reader closes its descriptor at EOF, and a number
                        // closed there could be reused by another open before a late reply is written.
                        let writer = fcntl(pmiPair.agent, F_DUPFD_CLOEXEC, 0)
                        if writer < 0 { logger.error("rank \(task.rank): no descriptor for PMI replies: \(String(cString: strerror(errno)))") }
                        pmiWriters.add(writer, for: task.rank)
                    }
                    let started1 = (rank: task.rank, pid: pid, stdinFD: task.stdinFD, out: task.outPipe.read, err: task.errPipe.read, pmi: task.pmiPair?.agent)
                    started.append(started1)
                    // Served from now on, not once every task has started: a rank's first PMI request (and its
                    // output) is answered while the node still starts the next batch.
                    group.addTask { await serve(started1) }
                }
                guard let failure else { continue }
                let firstUnstarted = started.last.map { $0.rank + 1 } ?? plan.taskRanks.lowerBound
                if let error = failure as? SpawnError, error.executable == executable {
                    // The program itself cannot run here (exec failed): this task and the rest fail the same way.
                    Self.reportStartFailure(.exec(plan.executable, errorNumber: error.errorNumber), ranks: firstUnstarted..<plan.taskRanks.upperBound, report: report)
                } else {
                    report(.launchFailed(message: "cannot start on node \(plan.node) (\(plan.host)): \(failure)"))
                }
                for task in started { kill(-task.pid, SIGKILL) }
                break launch
            }
            let tasks = started
            let pids = tasks.map(\.pid)
            var stdinWriters: [Int: StdinPipeWriter] = [:]
            for task in tasks { if let fd = task.stdinFD { stdinWriters[task.rank] = StdinPipeWriter(fd: fd, rank: task.rank) } }
            let writers = stdinWriters
            let grace = killGrace
            group.addTask {
                for await control in controls {
                    switch control {
                    case .signal(let number):
                        for pid in pids { kill(-pid, number) }
                    case .stdin(let task, let data, let eos):
                        let bytes = Array(data.readableBytesView)
                        if UInt32(truncatingIfNeeded: task) == StdinTarget.everyTask {
                            for writer in writers.values { writer.write(bytes, endOfStream: eos) }
                        } else {
                            writers[task]?.write(bytes, endOfStream: eos)
                        }
                    case .terminate:
                        for pid in pids { kill(-pid, SIGTERM) }
                        try? await Task.sleep(for: grace)
                        for pid in pids { kill(-pid, SIGKILL) }
                    case .pmiRelease(let epoch, let entries):
                        PMIRelease.deliver(epoch: epoch, entries: entries, pmi: pmi, usesPMIx: servesPMIx)
                    }
                }
                return false
            }
            var exited = 0
            while exited < tasks.count, let isTask = await group.next() {
                if isTask { exited += 1 }
            }
            group.cancelAll()
        }
    }

    /// Starts the process's PMIx server ahead of the launch (``PMIxServer/prestart(jobID:nodeName:)``).
    public func prestartServers(jobID: String, firstAgent: Int) {
        PMIxServer.shared.prestart(jobID: jobID, nodeName: PMIxJob.nodeName(firstAgent: firstAgent))
    }

    /// A prestarted PMIx server whose job never launched leaves no node directory, and the sweep a server's
    /// start began has ended (``PMIxServer/finish()``).
    public func finishServers() {
        PMIxServer.shared.finish()
    }

    /// Tasks that could not start: their streams end at once and they exit with the failure's status (126,
    /// 127, 1) and its text, which the front-end prints naming each rank and node.
    static func reportStartFailure(_ failure: TaskStartFailure, ranks: Range<Int>, report: @Sendable (AgentEvent) -> Void) {
        for rank in ranks {
            report(.taskOutput(task: rank, stream: .stdout, data: ByteBuffer(), endOfStream: true))
            report(.taskOutput(task: rank, stream: .stderr, data: ByteBuffer(), endOfStream: true))
            report(.taskExited(task: rank, status: failure.status, message: failure.description))
        }
    }

    /// Reads task `rank`'s PMI socket to its end into `shell`, then closes the reply descriptor. Requests are
    /// answered on the thread that read them (the process's ``DescriptorPoller``), as they come (one thread
    /// wake-up per request, as in hydra's proxy): the shell only parses and looks up, and ``PMIWriters`` never
    /// blocks on a task that does not read its socket.
    private static func servePMI(_ fd: Int32?, rank: Int, shell: PMINodeShell?, writers: PMIWriters) async {
        guard let fd, let shell else { return }
        await PipeReader(fd: fd).run { data, _ in shell.received(data, from: rank) }
        writers.close(rank)
    }

    /// Tasks started in one visit to the spawn thread, at most.
    static let spawnBatch = 32

    /// `ranks` cut into batches of at most ``spawnBatch``.
    static func batches(_ ranks: Range<Int>) -> [Range<Int>] {
        stride(from: ranks.lowerBound, to: ranks.upperBound, by: spawnBatch).map { $0..<min($0 + spawnBatch, ranks.upperBound) }
    }

    private static func socketPair() throws -> (agent: Int32, child: Int32) {
        var fds: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) == 0 else {
            throw SpawnError(executable: "socketpair", errorNumber: errno)
        }
        return (fds[0], fds[1])
    }

    private static func pipe() throws -> (read: Int32, write: Int32) {
        try ProcessSpawner.makePipe()
    }
}
