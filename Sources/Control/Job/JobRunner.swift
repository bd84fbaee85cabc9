import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Topology
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// The front-end's side of a job: hosts the controller (rank 0) in-process, starts the boot tree's first
/// level through the spawner, and turns controller directives into a job: launch after bootstrap, output in
/// order, exit-code aggregation, the failure policy, termination, and a final sweep of every agent process
/// group it learned about (local launcher) so nothing outlives the job.
public struct JobRunner: Sendable {
    public let options: JobOptions
    public let spawner: any AgentSpawner
    public let logger: Logger

    public init(options: JobOptions, spawner: any AgentSpawner, logger: Logger) {
        self.options = options
        self.spawner = spawner
        self.logger = logger
    }

    /// The outcome of a job.
    public struct Result: Sendable {
        /// Highest task exit code, or non-zero when agents failed or the job was interrupted.
        public var exitCode: Int32
        public var failures: [FailureNotice]
        public var bootstrapTime: Duration?
        public var agents: [AgentEndpoint]
        /// Time from the start of staging until every live node held every file (nil: nothing staged).
        public var stagingTime: Duration?
    }

    final class State: @unchecked Sendable {
        let lock = NIOLock()
        var tracker: JobTracker
        var sequencer = OutputSequencer()
        var failures: [FailureNotice] = []
        var agents: [AgentEndpoint] = []
        var bootstrapTime: Duration?
        var ending = false
        var interrupted: Int32?
        var abortedForFailure = false
        var nextCommandID: UInt64 = 10
        var staging: StagingTracker?
        var stagingStarted: ContinuousClock.Instant?
        var stagingTime: Duration?
        var stagingBytes: [UInt64: UInt64] = [:]
        var launched = false
        var policy: JobPolicy
        init(tasks: Int, policy: JobPolicy.Configuration) {
            tracker = JobTracker(taskCount: tasks)
            self.policy = JobPolicy(configuration: policy, taskCount: tasks)
        }
    }

    /// A handle to stop the job from outside (Ctrl-C).
    public struct Interrupter: Sendable {
        let stop: @Sendable (Int32) -> Void
        /// Terminates the job; the run returns 128 + `signal`.
        public func interrupt(signal: Int32) { stop(signal) }
    }

    /// Runs the job to completion. `events` sees bootstrap, failures and output; `ready` gets an interrupter
    /// as soon as one exists, and a stdin sink (data, end-of-stream) once tasks run.
    public func run(
        events: @escaping @Sendable (JobEvent) -> Void,
        ready: @escaping @Sendable (Interrupter) -> Void = { _ in },
        stdinReady: (@Sendable (@escaping @Sendable ([UInt8], Bool) -> Void) -> Void)? = nil
    ) async throws -> Result {
        let options = self.options
        let started = ContinuousClock.now
        let secret = JobSecret.generate()
        let tree = try BootTree(kind: .tree(arity: options.fanout), nodeCount: options.nodeCount + 1)
        let group = MultiThreadedEventLoopGroup.singleton
        let hub = try await LinkHub.bind(
            group: group, host: options.bindHost, jobID: options.jobID, secret: secret,
            identity: PeerIdentity(rank: 0, role: .controller), hosted: [0], handshakeWindow: options.handshakeWindow,
            report: { [logger] error in logger.debug("link error", metadata: ["error": "\(error)"]) })
        defer { hub.shutdown() }
        let me = AgentEndpoint(rank: 0, host: options.advertisedHost ?? (options.bindHost == "0.0.0.0" ? hostName() : options.bindHost), port: hub.port, pid: getpid())
        let heartbeatMS = options.heartbeat.map { Int($0.milliseconds) } ?? 0
        var machine = AgentMachine.Configuration(
            endpoint: me, rankCount: options.nodeCount + 1, tree: tree, handshakeWindow: options.handshakeWindow,
            heartbeatPeriod: options.heartbeat, heartbeatTimeout: options.heartbeatTimeout, parent: nil)
        machine.adaptiveDetector = !AgentHost.fixedDetector
        machine.fullAddressTable = options.fullAddressTable
        let runtime = AgentRuntime(
            configuration: machine, hub: hub,
            environment: .init(
                group: group, jobID: options.jobID, secret: secret,
                tickInterval: AgentHost.tickInterval(heartbeatMilliseconds: heartbeatMS), backend: nil,
                nodeCount: options.nodeCount, host: me.host, logger: logger,
                staging: StagingFiles(role: .source(Dictionary(
                    options.staging.map { ($0.offer.transferID, $0.source) }, uniquingKeysWith: { first, _ in first })))))
        let state = State(tasks: options.taskCount, policy: options.policy)
        let layout = TaskLayout(tasks: options.taskCount, nodes: options.nodeCount)

        @Sendable func end(_ reason: String) {
            let id: UInt64? = state.lock.withLock {
                guard !state.ending else { return nil }
                state.ending = true
                state.nextCommandID += 1
                return state.nextCommandID
            }
            guard let id else { return }
            events(.ending(reason: reason))
            runtime.send(.broadcast(.control(ControlCommand(id: id, target: .all, operation: .terminate))))
        }

        /// Feeds the job policy and carries out what it asks (outside the lock).
        @Sendable func applyPolicy(_ event: JobPolicy.Event) {
            let actions = state.lock.withLock { state.policy.handle(event, now: ContinuousClock.now - started) }
            for action in actions {
                switch action {
                case .reportFailure(let end): events(.taskFailed(end))
                case .notice(let text): events(.notice(text))
                case .signalTasks where !state.lock.withLock({ state.launched }):
                    end("ended before its tasks started")
                case .signalTasks(let number):
                    let id = state.lock.withLock { () -> UInt64 in
                        state.nextCommandID += 1
                        return state.nextCommandID
                    }
                    runtime.send(.broadcast(.control(ControlCommand(id: id, target: .all, operation: .signal(number)))))
                case .end(let reason): end(reason)
                }
            }
        }

        ready(Interrupter { signal in
            state.lock.withLock { state.interrupted = signal }
            end("interrupted by signal \(signal)")
        })

        var processConfig = AgentProcessConfiguration(
            jobID: options.jobID, secretHex: secret.hexEncoded, nodeCount: options.nodeCount, fanout: options.fanout,
            roots: [], agentsPerProcess: options.agentsPerProcess, hosts: options.hosts, bindHost: options.bindHost, heartbeatMilliseconds: heartbeatMS,
            heartbeatTimeoutMilliseconds: options.heartbeatTimeout.map { Int($0.milliseconds) } ?? 0,
            handshakeMilliseconds: Int(options.handshakeWindow.milliseconds), launcher: options.launcher,
            stallRanks: options.stallRanks, logLevel: options.agentLogLevel)
        processConfig.stagingDurable = options.stagingDurable
        processConfig.prestartsPMIx = options.prestartsPMIx
        // Agents started as one job step (srun) learn their parents from a rendezvous in the front-end.
        let stepSpawner = spawner as? any StepAgentSpawner
        var rendezvous: StepRendezvousServer?
        if stepSpawner != nil {
            let server = try await StepRendezvousServer.bind(
                group: group, host: options.bindHost, jobID: options.jobID, secret: secret, tree: tree, controller: me,
                handshakeWindow: options.handshakeWindow,
                report: { [logger] error in logger.debug("rendezvous error", metadata: ["error": "\(error)"]) })
            rendezvous = server
            processConfig.rendezvous = AgentEndpoint(rank: 0, host: me.host, port: server.port, pid: getpid())
        }
        defer { rendezvous?.shutdown() }

        let stdinSequence = NIOLockedValueBox<UInt64>(0)
        @Sendable func launch() {
            let first = state.lock.withLock { () -> Bool in
                defer { state.launched = true }
                return !state.launched
            }
            guard first else { return }
            var environment = [EnvironmentVariable(name: "VHPC_JOB", value: options.jobID)]
            if let path = getenv("PATH"), options.environment[TaskEnvironment.exportOnlyVariable] != "1" {
                environment.append(EnvironmentVariable(name: "PATH", value: String(cString: path)))
            }
            for (name, value) in options.environment.sorted(by: { $0.key < $1.key }) {
                environment.append(EnvironmentVariable(name: name, value: value))
            }
            environment.append(EnvironmentVariable(name: StdinTarget.variable, value: options.stdinTarget.description))
            runtime.send(.broadcast(.launch(LaunchCommand(
                id: 1, target: .all, executable: options.executable, arguments: options.arguments,
                environment: environment, workingDirectory: options.workingDirectory, tasks: UInt32(options.taskCount),
                runtime: options.runtime))))
            // Stdin goes to the node of the rank `--input` names, or to every node for all tasks.
            let destinations: [(node: Int, task: UInt32)]
            switch options.stdinTarget {
            case .none: destinations = []
            case .rank(let rank): destinations = [(layout.node(ofRank: rank) + 1, UInt32(rank))]
            case .all:
                destinations = (0..<options.nodeCount).filter { layout.taskCount(onNode: $0) > 0 }.map { ($0 + 1, StdinTarget.everyTask) }
            }
            guard !destinations.isEmpty else { return }
            stdinReady?({ bytes, eos in
                let sequence = stdinSequence.withLockedValue { value -> UInt64 in
                    defer { value += 1 }
                    return value
                }
                let data = ByteBuffer(bytes: bytes)
                for destination in destinations {
                    runtime.send(.stdin(Wire.IOData(
                        launchID: 1, rank: UInt32(destination.node), task: destination.task, stream: .stdin, sequence: sequence,
                        isEndOfStream: eos, data: data)))
                }
            })
        }

        /// Reports staging progress; launches once every live node holds every file.
        @Sendable func stagingProgressed() {
            let (tracker, bytes, started) = state.lock.withLock { (state.staging, state.stagingBytes.values.reduce(0, +), state.stagingStarted) }
            guard let tracker, let started else { return }
            events(.stagingProgress(bytes: bytes, total: tracker.totalBytes, nodesDone: tracker.nodesDone, nodes: tracker.nodes.count))
            guard tracker.isComplete, !state.lock.withLock({ state.ending }) else { return }
            let elapsed = ContinuousClock.now - started
            let first = state.lock.withLock { () -> Bool in
                guard state.stagingTime == nil else { return false }
                state.stagingTime = elapsed
                return true
            }
            guard first else { return }
            let failedNodes = Set(tracker.failedReports.map(\.node)).count
            events(.staged(bytes: tracker.totalBytes, nodes: tracker.nodes.count - failedNodes, skipped: tracker.skipped, elapsed: elapsed))
            launch()
        }

        let observe: @Sendable (AgentDirective) -> Void = { directive in
            switch directive {
            case .bootstrapped(let endpoints, _):
                let elapsed = ContinuousClock.now - started
                state.lock.withLock {
                    state.agents = endpoints
                    state.bootstrapTime = elapsed
                }
                events(.bootstrapped(agents: endpoints, elapsed: elapsed))
                if options.bootstrapOnly {
                    end("bootstrap finished")
                    return
                }
                let offers = options.staging.map(\.offer)
                guard !offers.isEmpty else { return launch() }
                let live = endpoints.map(\.rank).filter { $0 != 0 }
                let tracker = StagingTracker(offers: offers, nodes: live)
                state.lock.withLock {
                    state.staging = tracker
                    state.stagingStarted = .now
                }
                events(.stagingProgress(bytes: 0, total: tracker.totalBytes, nodesDone: 0, nodes: live.count))
                for offer in offers { runtime.send(.stage(offer)) }
            case .stagingReport(let report):
                let (isNew, ending) = state.lock.withLock { (state.staging?.record(report) ?? false, state.ending) }
                guard isNew, !ending else { return }
                if report.outcome == .failed {
                    events(.launchFailed(node: report.node, message: "staging failed on node \(report.node - 1): \(report.detail)"))
                    // The node's tasks will not run: they failed (as a launch failure does), whatever the policy.
                    state.lock.withLock { state.tracker.abandon(tasks: layout.ranks(onNode: max(0, report.node - 1)), status: 127) }
                    if options.onFailure == .abort {
                        state.lock.withLock { state.abortedForFailure = true }
                        return end("aborting: staging failed")
                    }
                }
                stagingProgressed()
            case .stagingProgress(let id, let bytes):
                state.lock.withLock { state.stagingBytes[id] = bytes }
                stagingProgressed()
            case .failure(let notice):
                let (ending, bootstrapped) = state.lock.withLock { (state.ending, state.bootstrapTime != nil) }
                events(.failure(notice))
                guard !ending else {
                    state.lock.withLock { state.failures.append(notice) }
                    return
                }
                let finished: Bool = state.lock.withLock {
                    state.failures.append(notice)
                    state.staging?.nodeFailed(notice.rank)
                    if notice.rank >= 1 && notice.rank <= options.nodeCount {
                        state.tracker.abandon(tasks: layout.ranks(onNode: notice.rank - 1), status: 128 + SIGKILL)
                    }
                    return bootstrapped && state.tracker.isComplete
                }
                if options.onFailure == .abort {
                    state.lock.withLock { state.abortedForFailure = true }
                    end("aborting after failure of agent \(notice.rank)")
                } else if finished {
                    end("all tasks finished")
                } else {
                    stagingProgressed()
                }
            case .output(let data):
                let ready = state.lock.withLock { () -> [Wire.IOData] in
                    let chunks = state.sequencer.accept(data)
                    for chunk in chunks where chunk.isEndOfStream {
                        state.tracker.streamEnded(task: Int(chunk.task), isError: chunk.stream == .stderr)
                    }
                    return chunks
                }
                for chunk in ready where chunk.data.readableBytes > 0 {
                    events(.output(task: Int(chunk.task), stream: chunk.stream, data: chunk.data))
                }
                if state.lock.withLock({ state.tracker.isComplete }) { end("all tasks finished") }
            case .report(let payload):
                switch payload {
                case .taskExited(let node, let task, let status, let message):
                    state.lock.withLock { state.tracker.exited(task: task, status: status) }
                    events(.taskEnded(TaskEnd(task: task, node: node - 1, status: status)))
                    // A message with status 255 means the task's infrastructure failed (e.g. its VM crashed), not
                    // the task: report it, and under the abort policy end the job like an agent failure. Any
                    // other message says why the task could not start (126, 127, 1): the policy reports it.
                    if message.isEmpty || status != TaskEnd.infrastructureFailureStatus {
                        // An exit status is 0…255 (MPI_Abort's code may be any int: as the process would exit).
                        let code = status >= 0 && status <= 255 ? status : (status & 0xff == 0 ? 1 : status & 0xff)
                        applyPolicy(.taskExited(TaskEnd(task: task, node: node - 1, status: code, detail: message.isEmpty ? nil : message)))
                    } else {
                        events(.launchFailed(node: node, message: message))
                        if options.onFailure == .abort {
                            state.lock.withLock { state.abortedForFailure = true }
                            end("aborting: \(message)")
                        }
                    }
                case .launchFailed(let node, let message):
                    events(.launchFailed(node: node, message: message))
                    state.lock.withLock { state.tracker.abandon(tasks: layout.ranks(onNode: node - 1), status: 127) }
                default:
                    break
                }
                if state.lock.withLock({ state.tracker.isComplete }) { end("all tasks finished") }
            default:
                break
            }
        }

        let spawned = try await withThrowingTaskGroup(of: SpawnedAgent?.self) { group in
            if let stepSpawner, let rendezvous {
                let config = processConfig
                group.addTask {
                    do {
                        let step = try await stepSpawner.spawnStep(hosts: options.hosts, configuration: config)
                        // A step that ends while agents have not reported (refused by the resource manager,
                        // cancelled, out of time) fails them now rather than after the handshake window.
                        Task {
                            let status = await step.waitForExit()
                            guard !state.lock.withLock({ state.ending }) else { return }
                            for rank in rendezvous.missing where tree.parent(of: rank) == 0 {
                                runtime.send(.spawnFailed(rank: rank, detail: "the agents' job step exited with status \(status) before this agent reported"))
                            }
                        }
                        return step
                    } catch {
                        for child in tree.children(of: 0) { runtime.send(.spawnFailed(rank: child, detail: "\(error)")) }
                        return nil
                    }
                }
            }
            // The controller is alone in the front-end; the ranks below it are packed into agent processes.
            let firstLevel = stepSpawner == nil
                ? ChunkPlan(tree: tree, roots: [0], capacity: 1, childCapacity: options.agentsPerProcess).childGroups : []
            for childGroup in firstLevel {
                let config = processConfig.forChild(roots: childGroup.map { ChunkRoot(rank: $0, parent: me) })
                let host = processConfig.host(ofRank: childGroup[0])
                let spawner = self.spawner
                group.addTask {
                    do {
                        let agent = try await spawner.spawnAgent(host: host, configuration: config)
                        return agent
                    } catch {
                        for child in childGroup { runtime.send(.spawnFailed(rank: child, detail: "\(error)")) }
                        return nil
                    }
                }
            }
            group.addTask {
                _ = try await runtime.run(observe: observe)
                return nil
            }
            group.addTask {
                // Ticks the job policy (escalation, time limit). Output lost with a failed agent must not
                // hang the job: once every task has exited, give missing output 2 s, then finish and say so.
                // (It looks every 20 ms: the job's end waits for this task to notice it.)
                var incompleteSince: ContinuousClock.Instant?
                while !Task.isCancelled, !state.lock.withLock({ state.ending }) {
                    try? await Task.sleep(for: .milliseconds(20))
                    applyPolicy(.tick)
                    let stuck = state.lock.withLock { state.tracker.exitedCount == state.tracker.taskCount && !state.tracker.isComplete }
                    if !stuck { incompleteSince = nil; continue }
                    if let since = incompleteSince, ContinuousClock.now - since > .seconds(2) {
                        end("all tasks exited; some output was lost with a failed agent")
                    } else if incompleteSince == nil {
                        incompleteSince = .now
                    }
                }
                return nil
            }
            var children: [SpawnedAgent] = []
            for try await agent in group { if let agent { children.append(agent) } }
            return children
        }

        // Give agents a moment to exit on their own, then sweep the process groups we know about.
        // A job step's agents run on other nodes: their pids mean nothing in this machine's process table;
        // the step's srun stands for all of them.
        var pids = stepSpawner == nil ? Set(state.lock.withLock { state.agents.map(\.pid) }) : []
        for child in spawned { pids.insert(child.pid) }
        pids.remove(getpid())
        await Self.waitUntilGone(pids, for: .milliseconds(1500))
        if options.launcher == "local" {
            // Agent processes whose agents never joined are not in the table: find them as descendants.
            pids.formUnion(JobProcessScan.agentProcesses(of: options.jobID, below: getpid()))
            let survivors = pids.filter { Self.isAlive($0) && Self.processGroup(of: $0) == $0 }
            for pid in survivors { kill(-pid, SIGKILL) }
            // SIGKILL is delivered asynchronously (a stopped agent must first be woken): the job is not over
            // until they are gone (bounded: a process in uninterruptible sleep may lag).
            await Self.waitUntilGone(survivors, for: .seconds(2))
        } else {
            for child in spawned { child.signal(SIGKILL) }
            // A job step ends its agents on every node before its srun exits: wait for that (bounded), so no
            // step is left behind when vhpc returns.
            if stepSpawner != nil { await Self.waitUntilGone(Set(spawned.map(\.pid)), for: .seconds(10)) }
        }

        return state.lock.withLock {
            var code = state.policy.exitCode(highestTaskStatus: state.tracker.exitCode)
            if !state.failures.isEmpty || state.abortedForFailure { code = max(code, 1) }
            if let signal = state.interrupted { code = 128 + signal }
            return Result(
                exitCode: code, failures: state.failures, bootstrapTime: state.bootstrapTime, agents: state.agents,
                stagingTime: state.stagingTime)
        }
    }

    /// Waits until none of `pids` is alive, or `limit` has passed. It looks every 2 ms (one /proc read per
    /// process still alive): the job's end waits for this loop to notice the last exit.
    static func waitUntilGone(_ pids: Set<pid_t>, for limit: Duration) async {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline, pids.contains(where: { isAlive($0) }) {
            try? await Task.sleep(for: .milliseconds(2))
        }
    }

    /// Whether `pid` exists and is not a zombie.
    public static func isAlive(_ pid: pid_t) -> Bool {
        JobProcessScan.statFields(of: pid)?.first.map { $0 != "Z" && $0 != "X" } ?? false
    }

    /// The process group of `pid` (from /proc), or nil.
    public static func processGroup(of pid: pid_t) -> pid_t? {
        guard let fields = JobProcessScan.statFields(of: pid), fields.count > 2 else { return nil }
        return pid_t(fields[2])
    }

    private func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, buffer.count)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
