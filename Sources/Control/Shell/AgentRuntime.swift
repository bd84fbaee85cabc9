import Logging
import NIOCore
import NIOPosix
import Wire

/// The NIO shell of one logical agent: runs its ``AgentMachine`` over real TCP links.
///
/// One discarding task group holds the ticker, every dial and the tool agent; a single loop owns the state
/// machine and the table of links. A link costs no task: its process's ``LinkHub`` feeds the loop's event
/// stream (from a trunk's event loop, or straight from the other agent for an in-process link), and the loop
/// writes to the link directly.
public struct AgentRuntime: Sendable {
    /// Everything the shell needs besides the machine's configuration.
    public struct Environment: Sendable {
        public var group: any EventLoopGroup
        public var jobID: String
        public var secret: JobSecret
        /// How often the machine gets a `.tick`.
        public var tickInterval: Duration
        /// Runs this node's tasks (nil for the controller).
        public var backend: (any TaskBackend)?
        /// Number of nodes (for task layout) and this node's host name.
        public var nodeCount: Int
        public var host: String
        public var logger: Logger
        /// Staging file I/O (a node's directory, or the controller's source files); nil: staging unsupported.
        public var staging: StagingFiles?
        /// Test hook (`VHPC_TEST_CORRUPT_CHUNK`): the first chunk received at this offset is corrupted.
        public var corruptChunkOffset: UInt64?
        /// Agent ranks of each agent process of the job when processes host several agents (see
        /// ``NodeTaskPlan/agentProcesses``); empty: one agent per process.
        public var agentProcesses: [[Int]] = []

        public init(
            group: any EventLoopGroup, jobID: String, secret: JobSecret, tickInterval: Duration, backend: (any TaskBackend)?,
            nodeCount: Int, host: String, logger: Logger, staging: StagingFiles? = nil, corruptChunkOffset: UInt64? = nil
        ) {
            self.staging = staging
            self.corruptChunkOffset = corruptChunkOffset
            self.group = group
            self.jobID = jobID
            self.secret = secret
            self.tickInterval = tickInterval
            self.backend = backend
            self.nodeCount = nodeCount
            self.host = host
            self.logger = logger
        }
    }

    /// How the agent ended.
    public struct Outcome: Sendable {
        public var reason: String
        public var failed: Bool
    }

    enum ShellEvent: Sendable {
        case agent(AgentEvent)
        case opened(rank: Int, id: Int, link: LinkWriter)
        case closed(rank: Int, id: Int)
    }

    let environment: Environment
    let machineConfiguration: AgentMachine.Configuration
    let hub: LinkHub
    let events: AsyncStream<ShellEvent>
    let input: AsyncStream<ShellEvent>.Continuation

    /// Registers the agent with `hub` at once: links opened to it before ``run(observe:)`` starts wait in its
    /// events, behind its start.
    public init(configuration: AgentMachine.Configuration, hub: LinkHub, environment: Environment) {
        self.machineConfiguration = configuration
        self.hub = hub
        self.environment = environment
        (events, input) = AsyncStream.makeStream(of: ShellEvent.self)
        input.yield(.agent(.start))
        hub.register(rank: configuration.endpoint.rank, input: input)
    }

    /// Feeds an event into the agent from outside (front-end commands, SIGCHLD, spawn failures).
    public func send(_ event: AgentEvent) {
        input.yield(.agent(event))
    }

    private var rank: Int { machineConfiguration.endpoint.rank }

    /// Runs the agent until it exits; `observe` sees every directive first (the front-end uses the
    /// controller's). Returns why it ended.
    public func run(observe: @escaping @Sendable (AgentDirective) -> Void = { _ in }) async throws -> Outcome {
        // However run ends (a machine that cannot be built too), links to this agent are refused from then on.
        defer {
            hub.unregister(rank: rank)
            input.finish()
        }
        var machine = try AgentMachine(configuration: machineConfiguration)
        let origin = ContinuousClock.now
        let logger = environment.logger
        let input = self.input
        var outcome = Outcome(reason: "ended", failed: false)
        var links: [Int: (id: Int, writer: LinkWriter)] = [:]
        var allLinks: [Int: LinkWriter] = [:]  // every open link by id (a replaced one too, until it closes)
        var flushes: [EventLoopFuture<Void>] = []  // at exit: each link's last writes going out
        // Links closed by the machine, still sending their last writes: an exit closes every link first (the
        // forwarded terminate is among those writes), and a process that exits before they are out leaves its
        // neighbours a close without the terminate — they took it for a failure ("controller unreachable
        // after failure of agent X" at the end of successful jobs).
        var closing: [EventLoopFuture<Void>] = []
        var toolControls: AsyncStream<TaskControl>.Continuation?
        var corruptOffset = environment.corruptChunkOffset
        let staging = environment.staging
        defer { staging?.close() }
        let hub = self.hub

        try await withThrowingDiscardingTaskGroup { group in
            let tick = environment.tickInterval
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: tick)
                    input.yield(.agent(.tick))
                }
            }
            loop: for await event in events {
                let now = ContinuousClock.now - origin
                let directives: [AgentDirective]
                switch event {
                case .agent(.message(.fileChunk(let chunk), let peer)) where chunk.offset == corruptOffset:
                    corruptOffset = nil
                    logger.warning("test hook: corrupting the chunk at offset \(chunk.offset)")
                    directives = machine.handle(.message(.fileChunk(chunk.corrupted()), from: peer), now: now)
                case .agent(let agentEvent):
                    directives = machine.handle(agentEvent, now: now)
                case .opened(let peer, let id, let writer):
                    allLinks[id] = writer
                    if let old = links[peer] { old.writer.finish() }
                    links[peer] = (id, writer)
                    directives = machine.handle(.linkUp(rank: peer), now: now)
                case .closed(let peer, let id):
                    allLinks[id] = nil
                    guard links[peer]?.id == id else { continue }
                    links[peer] = nil
                    directives = machine.handle(.linkDown(rank: peer), now: now)
                }
                for directive in directives {
                    logger.trace("directive", metadata: ["directive": "\(directive)"])
                    observe(directive)
                    switch directive {
                    case .dial(let peer, let host, let port):
                        let window = machineConfiguration.handshakeWindow
                        let rank = self.rank
                        group.addTask {
                            do {
                                try await hub.dial(from: rank, to: peer, host: host, port: port, input: input, timeout: window)
                            } catch {
                                logger.debug("dial failed", metadata: ["peer": "\(peer)", "error": "\(error)"])
                                input.yield(.agent(.dialFailed(rank: peer, detail: "\(error)")))
                            }
                        }
                    case .send(let message, let peer):
                        links[peer]?.writer.send(message)
                    case .stagingResendRequested(let id, let offset, let feeder):
                        logger.warning("staging: chunk at offset \(offset) of transfer \(id) failed its checksum on agent \(rank); asked agent \(feeder) to send it again")
                    case .closeLink(let peer):
                        if let link = links.removeValue(forKey: peer) {
                            closing.append(link.writer.finish())
                        }
                    case .startTasks(let command):
                        guard let backend = environment.backend, toolControls == nil else { break }
                        var plan = NodeTaskPlan(
                            command: command, jobID: environment.jobID, agentRank: rank,
                            nodeCount: environment.nodeCount, host: environment.host)
                        if !environment.agentProcesses.isEmpty { plan.agentProcesses = environment.agentProcesses }
                        if let staging { plan.environment.merge(staging.taskEnvironment()) { _, staged in staged } }
                        for (peer, endpoint) in machine.addresses where peer != 0 { plan.nodeAddresses[peer] = endpoint.host }
                        plan.secret = environment.secret
                        let (controls, continuation) = AsyncStream.makeStream(of: TaskControl.self)
                        toolControls = continuation
                        group.addTask {
                            await backend.run(plan, controls: controls) { event in input.yield(.agent(event)) }
                        }
                    case .signalTasks(let number):
                        toolControls?.yield(.signal(number))
                    case .pmiRelease(let epoch, let entries):
                        toolControls?.yield(.pmiRelease(epoch: epoch, entries: entries))
                    case .writeStdin(let data):
                        toolControls?.yield(.stdin(task: Int(data.task), data: data.data, endOfStream: data.isEndOfStream))
                    case .exit(let reason, let failed):
                        outcome = Outcome(reason: reason, failed: failed)
                        logger.debug("agent exiting", metadata: ["reason": "\(reason)"])
                        toolControls?.yield(.terminate)
                        toolControls?.finish()
                        flushes = closing + links.values.map { $0.writer.finish() }
                        links = [:]
                        break loop
                    case .stagingIO(let io):
                        staging?.perform(io) { event in input.yield(.agent(.staging(event))) }
                    case .joined, .bootstrapped, .failure, .output, .report, .stagingReport, .stagingProgress:
                        break
                    }
                }
            }
            // Let the links send what was written (a forwarded terminate, the last output), at most a second,
            // without waiting for peers to close their side (a hung one never would); then close them all.
            // A stopped peer may never take its link's last writes: the wait is bounded, not the writes.
            if !flushes.isEmpty {
                let sent = EventLoopFuture.andAllComplete(flushes, on: environment.group.next())
                if await !sent.completes(within: .seconds(1)) {
                    logger.debug("links still had unsent data after 1 s at exit; closing them")
                }
            }
            hub.unregister(rank: rank)
            for writer in allLinks.values { writer.abort() }
            input.finish()
            // Links that opened after the drain: nothing will read their events any more.
            for await case .opened(_, _, let writer) in events { writer.abort() }
            group.cancelAll()
        }
        return outcome
    }
}
