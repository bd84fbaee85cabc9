import Launch
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Topology
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// The front-end's side of a job, the shell of its ``JobMachine``: hosts the controller (rank 0) in-process,
/// starts the boot tree's first level through the spawner, feeds the machine what the controller reports,
/// Ctrl-C and the deadlines it asked for (one loop owns it), and carries out its actions; at the end the
/// spawner sweeps what is left of the agent processes (``AgentSpawner/sweep(_:)``) so nothing outlives the job.
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
            sameProcessPeers: true, report: LinkHub.logging(to: logger))
        defer { hub.shutdown() }
        let me = AgentEndpoint(rank: 0, host: options.advertisedHost ?? (options.bindHost == "0.0.0.0" ? hostName() : options.bindHost), port: hub.port, pid: getpid())
        let heartbeatMS = options.heartbeat.map { Int($0.milliseconds) } ?? 0
        var controller = AgentMachine.Configuration(
            endpoint: me, rankCount: options.nodeCount + 1, tree: tree, handshakeWindow: options.handshakeWindow,
            heartbeatPeriod: options.heartbeat, heartbeatTimeout: options.heartbeatTimeout, parent: nil)
        controller.adaptiveDetector = !AgentHost.fixedDetector
        controller.fullAddressTable = options.fullAddressTable
        var jobConfiguration = JobMachine.Configuration(options)
        if jobConfiguration.wiringDelay != nil, let milliseconds = Self.wiringDelayMilliseconds {
            jobConfiguration.wiringDelay = milliseconds > 0 ? .milliseconds(milliseconds) : nil
        }
        controller.holdsWiring = jobConfiguration.wiringDelay != nil
        // Everything that happens to the job reaches its machine through this stream, in order.
        let (inputs, input) = AsyncStream.makeStream(of: JobMachine.Event.self)
        let agents = AgentRuntime(hub: hub)
        let runtime = agents.add(
            configuration: controller,
            environment: .init(
                group: group, jobID: options.jobID, secret: secret,
                tickInterval: AgentHost.tickInterval(heartbeatMilliseconds: heartbeatMS), backend: nil,
                nodeCount: options.nodeCount, host: me.host, logger: logger,
                staging: StagingFiles(role: .source(Dictionary(
                    options.staging.map { ($0.offer.transferID, $0.source) }, uniquingKeysWith: { first, _ in first })))),
            observe: { directive in
                if let event = JobMachine.Event(directive) { input.yield(event) }
            })
        var machine = JobMachine(configuration: jobConfiguration, now: started)
        input.yield(.start)
        ready(Interrupter { signal in input.yield(.interrupt(signal: signal)) })

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
            processConfig.controller = me
        }
        defer { rendezvous?.shutdown() }

        let launch = LaunchCommand(
            id: 1, target: .all, executable: options.executable, arguments: options.arguments,
            environment: taskEnvironment(), workingDirectory: options.workingDirectory, tasks: UInt32(options.taskCount),
            runtime: options.runtime)
        /// Carries out one of the machine's actions.
        @Sendable func perform(_ action: JobMachine.Action) {
            switch action {
            case .report(let event):
                events(event)
            case .stage(let offers):
                for offer in offers { runtime.send(.stage(offer)) }
            case .launch(let routes):
                runtime.send(.broadcast(.launch(launch)))
                if !routes.isEmpty { stdinReady?(stdinSink(routes, runtime: runtime)) }
            case .terminate(let id):
                runtime.send(.broadcast(.control(ControlCommand(id: id, target: .all, operation: .terminate))))
            case .signalTasks(let number, let id):
                runtime.send(.broadcast(.control(ControlCommand(id: id, target: .all, operation: .signal(number)))))
            case .spawnFailed(let rank, let detail):
                runtime.send(.spawnFailed(rank: rank, detail: detail))
            case .wire:
                runtime.send(.wire)
            case .wake:
                break  // the loop below owns the timer
            }
        }

        let spawned = try await withThrowingTaskGroup(of: SpawnedAgent?.self) { group in
            if let stepSpawner, rendezvous != nil {
                let config = processConfig
                group.addTask {
                    do {
                        let step = try await stepSpawner.spawnStep(hosts: options.hosts, configuration: config)
                        // A step that ends while agents have not reached the controller (refused by the
                        // resource manager, cancelled, out of time) fails them now rather than after the handshake
                        // window; the controller ignores this for children already linked to it.
                        Task {
                            let status = await step.waitForExit()
                            input.yield(.stepExited(status: status, unreported: tree.children(of: 0)))
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
                // However the controller ends, the job's loop ends with it (after what it reported).
                defer { input.finish() }
                _ = try await agents.run()
                return nil
            }
            // The job's loop, the machine's one owner; its deadlines are a task sleeping until the next one.
            var wake: Task<Void, Never>?
            for await event in inputs {
                for action in machine.handle(event, now: ContinuousClock.now) {
                    if case .wake(let instant) = action {
                        wake?.cancel()
                        wake = Task {
                            guard (try? await Task.sleep(until: instant, clock: .continuous)) != nil else { return }
                            input.yield(.wake)
                        }
                    }
                    perform(action)
                }
            }
            wake?.cancel()
            var children: [SpawnedAgent] = []
            for try await agent in group { if let agent { children.append(agent) } }
            return children
        }

        var sweep = AgentSweep(jobID: options.jobID, spawned: spawned, agentPIDs: Set(machine.agents.map(\.pid)))
        sweep.agentsFailed = !machine.failures.isEmpty
        await spawner.sweep(sweep)
        return Result(
            exitCode: machine.exitCode, failures: machine.failures, bootstrapTime: machine.bootstrapTime,
            agents: machine.agents, stagingTime: machine.stagingTime)
    }

    /// The tasks' environment: the job id, PATH (unless `--export` lists the only variables), the user's
    /// variables, and where stdin goes.
    private func taskEnvironment() -> [EnvironmentVariable] {
        var environment = [EnvironmentVariable(name: "VHPC_JOB", value: options.jobID)]
        if let path = getenv("PATH"), options.environment[TaskEnvironment.exportOnlyVariable] != "1" {
            environment.append(EnvironmentVariable(name: "PATH", value: String(cString: path)))
        }
        for (name, value) in options.environment.sorted(by: { $0.key < $1.key }) {
            environment.append(EnvironmentVariable(name: name, value: value))
        }
        environment.append(EnvironmentVariable(name: StdinTarget.variable, value: options.stdinTarget.description))
        return environment
    }

    /// Where the front-end's stdin goes once tasks run: each chunk (and the end of stream) to every route.
    private func stdinSink(_ routes: [JobMachine.StdinRoute], runtime: AgentRuntime.Agent) -> @Sendable ([UInt8], Bool) -> Void {
        let sequence = NIOLockedValueBox<UInt64>(0)
        return { bytes, endOfStream in
            let number = sequence.withLockedValue { value -> UInt64 in
                defer { value += 1 }
                return value
            }
            let data = ByteBuffer(bytes: bytes)
            for route in routes {
                runtime.send(.stdin(Wire.IOData(
                    launchID: 1, rank: UInt32(route.node), task: route.task, stream: .stdin, sequence: number,
                    isEndOfStream: endOfStream, data: data)))
            }
        }
    }

    /// Benchmark hook: `VHPC_WIRING_DELAY_MS` sets ``JobMachine/Configuration/wiringDelay`` where the job would hold
    /// the go to wire (0: every agent wires as soon as all joined, as before the delay existed).
    static var wiringDelayMilliseconds: Int? {
        getenv("VHPC_WIRING_DELAY_MS").flatMap { Int(String(cString: $0)) }.map { max(0, $0) }
    }

    private func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, buffer.count)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
