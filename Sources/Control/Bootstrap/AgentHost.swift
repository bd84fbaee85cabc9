import Launch
import Logging
import NIOCore
import NIOPosix
import Topology
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// One agent OS process (`vhpc-agent --role root`): hosts the root agents of its boot-tree chunk, starts the
/// child processes of the chunks below in parallel, and runs until all its agents have exited.
public struct AgentHost: Sendable {
    public let configuration: AgentProcessConfiguration
    public let spawner: any AgentSpawner
    public let backend: any TaskBackend
    public let logger: Logger
    /// The state directory of the node of each rank (staged files and images go there); nil: no staging.
    public let nodeDirectory: (@Sendable (Int) -> String)?
    /// Set for an agent started as part of one job step (``AgentProcessConfiguration/rendezvous``).
    public let step: StepPlacement?

    /// Where a step agent stands: its rank (from the resource manager) and the address it advertises.
    public struct StepPlacement: Sendable {
        public var rank: Int
        public var advertisedHost: String

        public init(rank: Int, advertisedHost: String) {
            self.rank = rank
            self.advertisedHost = advertisedHost
        }
    }

    public init(
        configuration: AgentProcessConfiguration, spawner: any AgentSpawner, backend: any TaskBackend, logger: Logger,
        nodeDirectory: (@Sendable (Int) -> String)? = nil, step: StepPlacement? = nil
    ) {
        self.configuration = configuration
        self.spawner = spawner
        self.backend = backend
        self.logger = logger
        self.nodeDirectory = nodeDirectory
        self.step = step
    }

    /// Test hook: `VHPC_TEST_CORRUPT_CHUNK=RANK:OFFSET` corrupts the first staging chunk agent RANK receives at
    /// OFFSET (checks that a bad chunk is detected and sent again). Never set outside tests.
    static func corruptChunkOffset(rank: Int) -> UInt64? {
        guard let value = getenv("VHPC_TEST_CORRUPT_CHUNK") else { return nil }
        let parts = String(cString: value).split(separator: ":")
        guard parts.count == 2, Int(parts[0]) == rank else { return nil }
        return UInt64(parts[1])
    }

    /// Runs the process's agents; returns the process exit code (0 = terminated normally, 1 = ended by a fault).
    public func run() async throws -> Int32 {
        let config = configuration
        guard let secret = JobSecret(hexEncoded: config.secretHex) else {
            throw ControlError.badConfiguration("job secret is not valid hex")
        }
        let tree = try BootTree(kind: .tree(arity: config.fanout), nodeCount: config.nodeCount + 1)
        if let step, step.rank < 1 || step.rank > config.nodeCount {
            throw ControlError.badConfiguration("step agent rank \(step.rank) is outside the job's nodes 1…\(config.nodeCount)")
        }
        // A step agent hosts its own rank only and spawns nothing: its children are started by the same step.
        let plan = step.map { ChunkPlan(tree: tree, roots: [$0.rank], capacity: 1) }
            ?? ChunkPlan(tree: tree, roots: config.roots.map(\.rank), capacity: config.agentsPerProcess)
        let childGroups = step == nil ? plan.childGroups : []
        if config.prestartsPMIx, let first = plan.hosted.min() {
            backend.prestartServers(jobID: config.jobID, firstAgent: first)
        }
        defer { backend.finishServers() }
        var rootParents = Dictionary(config.roots.map { ($0.rank, $0.parent) }, uniquingKeysWith: { first, _ in first })
        let group = MultiThreadedEventLoopGroup.singleton
        let window = Duration.milliseconds(config.handshakeMilliseconds)
        let pid = getpid()

        // Over ssh, the addresses of the launching connection are the ones known to be reachable. The agents
        // listen on the one they advertise (their session's server address), not on every address of the host.
        let sshAddresses = config.launcher == "ssh" ? SSHConnectionAddresses.current() : nil
        // One listener for all the process's agents; they share its connections to other processes.
        let hub = try await LinkHub.bind(
            group: group, host: sshAddresses?.server ?? config.bindHost, jobID: config.jobID, secret: secret,
            identity: PeerIdentity(rank: UInt32(plan.hosted.min() ?? 0), role: .rootAgent), hosted: Set(plan.hosted),
            handshakeWindow: window, sameProcessPeers: true, report: LinkHub.logging(to: logger))
        defer { hub.shutdown() }
        var endpoints: [Int: AgentEndpoint] = [:]
        for rank in plan.hosted {
            endpoints[rank] = AgentEndpoint(rank: rank, host: step?.advertisedHost ?? sshAddresses?.server ?? config.host(ofRank: rank),
                                            port: hub.port, pid: pid)
        }
        var stepReady: (@Sendable () -> Void)?
        // A child of the controller reporting to the rendezvous for its own children's sake (it needs no answer).
        var reporting: Task<@Sendable () -> Void, any Error>?
        if let step, let rendezvous = config.rendezvous {
            let own = endpoints[step.rank]!
            @Sendable func join() async throws -> (parent: AgentEndpoint, ready: @Sendable () -> Void) {
                try await StepRendezvousClient.join(
                    group: group, host: rendezvous.host, port: rendezvous.port, jobID: config.jobID, secret: secret,
                    own: own, timeout: window * (tree.height + 2))
            }
            if let controller = config.controller, tree.parent(of: step.rank) == 0 {
                // The parent is the controller, whose endpoint the configuration holds: dial it at once.
                rootParents[step.rank] = controller
                if !tree.children(of: step.rank).isEmpty { reporting = Task { try await join().ready } }
            } else {
                let joined = try await join()
                rootParents[step.rank] = joined.parent
                stepReady = joined.ready
            }
        }

        // Which agents share a process (and so its PMIx server); only worked out when processes are packed.
        let agentProcesses = config.agentsPerProcess > 1 ? ChunkPlan.processes(tree: tree, agentsPerProcess: config.agentsPerProcess) : []
        // One loop runs every hosted agent (see AgentRuntime).
        let runtime = AgentRuntime(hub: hub)
        var agents: [Int: AgentRuntime.Agent] = [:]
        let adaptiveDetector = !Self.fixedDetector
        for rank in plan.hosted {
            let parentRank = tree.parent(of: rank) ?? 0
            var parent = rootParents[rank] ?? endpoints[parentRank]!
            // The front-end listens on every address and is dialled where the session came from; a parent
            // agent listens only on the address it advertises, which the endpoint given here is.
            if rootParents[rank] != nil, parent.rank == 0, let sshAddresses { parent.host = sshAddresses.client }
            if config.stallRanks.contains(rank) { parent.port = 1 }  // test hook: the handshake never comes
            var agentLogger = logger
            agentLogger[metadataKey: "agent.rank"] = "\(rank)"
            var machine = AgentMachine.Configuration(
                endpoint: endpoints[rank]!, rankCount: config.nodeCount + 1, tree: tree, handshakeWindow: window,
                heartbeatPeriod: config.heartbeatMilliseconds > 0 ? .milliseconds(config.heartbeatMilliseconds) : nil,
                heartbeatTimeout: config.heartbeatTimeoutMilliseconds > 0 ? .milliseconds(config.heartbeatTimeoutMilliseconds) : nil,
                parent: parent)
            machine.adaptiveDetector = adaptiveDetector
            var runtimeEnvironment = AgentRuntime.Environment(
                group: group, jobID: config.jobID, secret: secret,
                tickInterval: Self.tickInterval(heartbeatMilliseconds: config.heartbeatMilliseconds), backend: backend,
                nodeCount: config.nodeCount, host: config.host(ofRank: rank), logger: agentLogger,
                staging: nodeDirectory.map { StagingFiles(role: .node(directory: $0(rank), jobID: config.jobID), durable: config.stagingDurable) },
                corruptChunkOffset: Self.corruptChunkOffset(rank: rank))
            runtimeEnvironment.agentProcesses = agentProcesses
            agents[rank] = runtime.add(configuration: machine, environment: runtimeEnvironment)
        }

        stepReady?()  // registered (AgentRuntime.add): children may dial now
        let failures = try await withThrowingTaskGroup(of: Bool?.self) { group in
            if let reporting {
                group.addTask {
                    try await reporting.value()  // reported and registered: its children may dial now
                    return nil
                }
            }
            for childGroup in childGroups {
                let roots = childGroup.map { ChunkRoot(rank: $0, parent: endpoints[tree.parent(of: $0)!]!) }
                let childConfig = config.forChild(roots: roots)
                let host = config.host(ofRank: childGroup[0])
                let parents = childGroup.map { (rank: $0, parent: agents[tree.parent(of: $0)!]!) }
                group.addTask {
                    await Self.spawnAndWatch(parents, host: host, configuration: childConfig, spawner: spawner)
                    return nil
                }
            }
            group.addTask {
                var failed = false
                for (rank, outcome) in try await runtime.run().sorted(by: { $0.key < $1.key }) where outcome.failed {
                    logger.warning("agent \(rank) exiting: \(outcome.reason)")
                    failed = true
                }
                return failed
            }
            var failed = false
            while let result = try await group.next() {
                guard let agentsFailed = result else { continue }  // a child process ended, or the report to the rendezvous
                failed = agentsFailed
                break
            }
            group.cancelAll()
            return failed
        }
        return failures ? 1 : 0
    }

    /// Benchmark hook: `VHPC_DETECTOR=fixed` turns off the detector's back-off under load (see
    /// ``HeartbeatDetector``) in the front-end and every agent, to count false failures against it.
    public static var fixedDetector: Bool {
        getenv("VHPC_DETECTOR").map { String(cString: $0) == "fixed" } ?? false
    }

    /// Tick interval for a heartbeat period: an eighth of it, between 20 ms and 250 ms.
    public static func tickInterval(heartbeatMilliseconds: Int) -> Duration {
        guard heartbeatMilliseconds > 0 else { return .milliseconds(250) }
        return .milliseconds(min(250, max(20, heartbeatMilliseconds / 8)))
    }

    /// Starts the child process hosting `roots` and tells each root's parent agent when it fails to start or
    /// exits.
    static func spawnAndWatch(
        _ roots: [(rank: Int, parent: AgentRuntime.Agent)], host: String, configuration: AgentProcessConfiguration,
        spawner: any AgentSpawner
    ) async {
        let child: SpawnedAgent
        do {
            child = try await spawner.spawnAgent(host: host, configuration: configuration)
        } catch {
            for root in roots { root.parent.send(.spawnFailed(rank: root.rank, detail: "\(error)")) }
            return
        }
        let status = await child.waitForExit()
        if status >= 0 {
            for root in roots { root.parent.send(.childExited(rank: root.rank, status: status)) }
        }
    }
}
