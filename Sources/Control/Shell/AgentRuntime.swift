import Logging
import NIOCore
import NIOPosix
import Synchronization
import Wire

/// The NIO shell of the logical agents one process hosts: runs their ``AgentMachine``s over real links, all on
/// one loop.
///
/// Every event of every hosted agent (a link opened, closed or carrying a message — from a trunk's event loop,
/// or straight from another agent for an in-process link —, a tick, a task's output) goes into one queue, and a
/// single loop drains it in batches: it owns every machine and table of links and writes to the links directly.
/// A message between two agents of the process is an append under a lock, not a hand-off to another task (with
/// an event stream and a loop task per agent, their task switches were ~40 % of the front-end's CPU at 256
/// in-process agents). What waits runs in the loop's task group: the ticker, dials to other processes, the tool
/// agents, the last writes of an exiting agent.
public final class AgentRuntime: Sendable {
    /// Everything the shell needs for one agent besides the machine's configuration.
    public struct Environment: Sendable {
        public var group: any EventLoopGroup
        public var jobID: String
        public var secret: JobSecret
        /// How often the machine gets a `.tick` (the runtime ticks its agents at the shortest of theirs).
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

    /// How an agent ended.
    public struct Outcome: Sendable {
        public var reason: String
        public var failed: Bool
    }

    enum ShellEvent: Sendable {
        case agent(AgentEvent)
        case opened(rank: Int, id: Int, link: LinkWriter)
        case closed(rank: Int, id: Int)
        /// The exiting agent's last writes have gone out (or the wait for them ended).
        case drained
    }

    /// A hosted agent, to feed events into from outside (front-end commands, SIGCHLD, spawn failures).
    public struct Agent: Sendable {
        let runtime: AgentRuntime
        let slot: Int
        public let rank: Int

        public func send(_ event: AgentEvent) {
            _ = runtime.deliver(.agent(event), to: slot)
        }
    }

    /// What ``add(configuration:environment:observe:)`` was given.
    private struct Added: Sendable {
        var configuration: AgentMachine.Configuration
        var environment: Environment
        var observe: @Sendable (AgentDirective) -> Void
    }

    private enum Entry: Sendable {
        case event(slot: Int, ShellEvent)
        case tick
    }

    private struct Queue: ~Copyable {
        var entries: [Entry] = []
        /// The loop, waiting for an entry.
        var waiter: CheckedContinuation<Void, Never>?
        /// Per agent: no more events are taken (it exited, or the runtime ended).
        var refused: [Bool] = []
        var added: [Added] = []
        var running = false
    }

    let hub: LinkHub
    private let queue = Mutex(Queue())

    /// A runtime for agents hosted with `hub`.
    public init(hub: LinkHub) {
        self.hub = hub
    }

    /// Adds an agent and registers it with the hub at once: links opened to it before ``run()`` starts wait in
    /// its events, behind its start. `observe` sees each of its directives first (the front-end uses the
    /// controller's).
    public func add(
        configuration: AgentMachine.Configuration, environment: Environment,
        observe: @escaping @Sendable (AgentDirective) -> Void = { _ in }
    ) -> Agent {
        let slot = queue.withLock { queue in
            precondition(!queue.running, "agents are added before the runtime runs")
            queue.added.append(Added(configuration: configuration, environment: environment, observe: observe))
            queue.refused.append(false)
            queue.entries.append(.event(slot: queue.added.count - 1, .agent(.start)))
            return queue.added.count - 1
        }
        hub.register(rank: configuration.endpoint.rank, input: input(of: slot))
        return Agent(runtime: self, slot: slot, rank: configuration.endpoint.rank)
    }

    /// Where the events of the agent in `slot` go.
    private func input(of slot: Int) -> AgentInput {
        AgentInput { [self] event in deliver(event, to: slot) }
    }

    /// Queues an event for the agent in `slot`; false if it takes no more.
    fileprivate func deliver(_ event: ShellEvent, to slot: Int) -> Bool {
        let waiter: CheckedContinuation<Void, Never>?? = queue.withLock { queue in
            guard !queue.refused[slot] else { return .none }
            queue.entries.append(.event(slot: slot, event))
            defer { queue.waiter = nil }
            return .some(queue.waiter)
        }
        guard let waiter else { return false }
        waiter?.resume()
        return true
    }

    private func tick() {
        let waiter = queue.withLock { queue in
            queue.entries.append(.tick)
            defer { queue.waiter = nil }
            return queue.waiter
        }
        waiter?.resume()
    }

    /// The queued entries (waits for one).
    private func next() async -> [Entry] {
        while true {
            let batch = queue.withLock { queue in
                defer { queue.entries = [] }
                return queue.entries
            }
            if !batch.isEmpty { return batch }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = queue.withLock { queue in
                    if !queue.entries.isEmpty { return true }
                    queue.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        }
    }

    /// From now on the agent in `slot` takes no events (links opened to it are refused).
    private func refuse(_ slot: Int) {
        queue.withLock { $0.refused[slot] = true }
    }

    /// Runs every added agent until each has exited; returns how each ended, by rank.
    public func run() async throws -> [Int: Outcome] {
        let added = queue.withLock { queue in
            queue.running = true
            return queue.added
        }
        // However run ends (a machine that cannot be built too), links to its agents are refused from then on.
        defer {
            for (slot, agent) in added.enumerated() {
                hub.unregister(rank: agent.configuration.endpoint.rank)
                refuse(slot)
            }
        }
        var agents: [HostedAgent] = []
        for (slot, agent) in added.enumerated() {
            agents.append(try HostedAgent(slot: slot, agent.configuration, agent.environment, observe: agent.observe, input: input(of: slot)))
        }
        guard let tick = added.map(\.environment.tickInterval).min() else { return [:] }
        let origin = ContinuousClock.now
        var running = agents.count
        // Two groups: the tool agents and the exits' last writes run to their end (a tool agent cancelled before it
        // took its terminate would leave its tasks running); the ticker and the dials are cancelled once every
        // agent has ended.
        try await withThrowingDiscardingTaskGroup { tools in
          try await withThrowingDiscardingTaskGroup { group in
            group.addTask { [self] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: tick)
                    self.tick()
                }
            }
            while running > 0 {
                for entry in await next() {
                    var ended: [HostedAgent] = []
                    switch entry {
                    case .tick:
                        let now = ContinuousClock.now - origin
                        for agent in agents where agent.state == .running {
                            if agent.execute(agent.machine.handle(.tick, now: now), hub: hub, group: &group, tools: &tools) {
                                ended.append(agent)
                            }
                        }
                    case .event(let slot, let event):
                        let agent = agents[slot]
                        if agent.handle(event, now: ContinuousClock.now - origin, hub: hub, group: &group, tools: &tools) {
                            ended.append(agent)
                        }
                    }
                    for agent in ended {
                        hub.unregister(rank: agent.rank)
                        refuse(agent.slot)
                        agent.closeAll()
                        running -= 1
                    }
                }
            }
            // Events queued behind the last exit: links opened to an agent after it ended are closed.
            for case .event(_, .opened(_, _, let writer)) in queue.withLock({ $0.entries }) { writer.abort() }
            group.cancelAll()
          }
        }
        for agent in agents { agent.staging?.close() }
        return Dictionary(agents.map { ($0.rank, $0.outcome) }, uniquingKeysWith: { first, _ in first })
    }
}

/// One agent of an ``AgentRuntime``: its machine and links, used by the runtime's loop alone.
private final class HostedAgent {
    enum State { case running, exiting, ended }

    let slot: Int
    let rank: Int
    var machine: AgentMachine
    let environment: AgentRuntime.Environment
    let handshakeWindow: Duration
    let observe: @Sendable (AgentDirective) -> Void
    let input: AgentInput
    var state = State.running
    var outcome = AgentRuntime.Outcome(reason: "ended", failed: false)
    var links: [Int: (id: Int, writer: LinkWriter)] = [:]
    /// Every open link by id (a replaced one too, until it closes).
    var allLinks: [Int: LinkWriter] = [:]
    /// Links closed by the machine, still sending their last writes: an exit closes every link first (the
    /// forwarded terminate is among those writes), and a process that exits before they are out leaves its
    /// neighbours a close without the terminate — they took it for a failure ("controller unreachable after
    /// failure of agent X" at the end of successful jobs).
    var closing: [EventLoopFuture<Void>] = []
    var toolControls: AsyncStream<TaskControl>.Continuation?
    var corruptOffset: UInt64?
    var staging: StagingFiles? { environment.staging }
    var logger: Logger { environment.logger }

    init(
        slot: Int, _ configuration: AgentMachine.Configuration, _ environment: AgentRuntime.Environment,
        observe: @escaping @Sendable (AgentDirective) -> Void, input: AgentInput
    ) throws {
        self.slot = slot
        rank = configuration.endpoint.rank
        machine = try AgentMachine(configuration: configuration)
        self.environment = environment
        handshakeWindow = configuration.handshakeWindow
        self.observe = observe
        self.input = input
        corruptOffset = environment.corruptChunkOffset
    }

    /// Handles one event; true when the agent has ended (its last writes are out).
    func handle(
        _ event: AgentRuntime.ShellEvent, now: Duration, hub: LinkHub, group: inout ThrowingDiscardingTaskGroup<any Error>,
        tools: inout ThrowingDiscardingTaskGroup<any Error>
    ) -> Bool {
        guard state == .running else {
            switch event {
            case .opened(_, _, let writer): writer.abort()  // nothing will read it
            case .drained: return state == .exiting
            default: break
            }
            return false
        }
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
            guard links[peer]?.id == id else { return false }
            links[peer] = nil
            directives = machine.handle(.linkDown(rank: peer), now: now)
        case .drained:
            return false
        }
        return execute(directives, hub: hub, group: &group, tools: &tools)
    }

    /// Carries out the machine's directives; true when the agent has ended.
    @discardableResult
    /// Dials go to `group`, tool agents and last writes to `tools`.
    func execute(
        _ directives: [AgentDirective], hub: LinkHub, group: inout ThrowingDiscardingTaskGroup<any Error>,
        tools: inout ThrowingDiscardingTaskGroup<any Error>
    ) -> Bool {
        let rank = self.rank
        let input = self.input
        let logger = self.logger
        for directive in directives {
            logger.trace("directive", metadata: ["directive": "\(directive)"])
            observe(directive)
            switch directive {
            case .dial(let peer, let host, let port):
                do {
                    if try hub.dialInProcess(from: rank, to: peer, port: port, input: input) { break }
                } catch {
                    logger.debug("dial failed", metadata: ["peer": "\(peer)", "error": "\(error)"])
                    input.yield(.agent(.dialFailed(rank: peer, detail: "\(error)")))
                    break
                }
                let window = handshakeWindow
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
                if let link = links.removeValue(forKey: peer), let flushed = link.writer.finish() {
                    closing.append(flushed)
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
                tools.addTask {
                    await backend.run(plan, controls: controls) { event in input.yield(.agent(event)) }
                }
            case .signalTasks(let number):
                toolControls?.yield(.signal(number))
            case .pmiRelease(let epoch, let entries):
                toolControls?.yield(.pmiRelease(epoch: epoch, entries: entries))
            case .writeStdin(let data):
                toolControls?.yield(.stdin(task: Int(data.task), data: data.data, endOfStream: data.isEndOfStream))
            case .exit(let reason, let failed):
                outcome = AgentRuntime.Outcome(reason: reason, failed: failed)
                logger.debug("agent exiting", metadata: ["reason": "\(reason)"])
                toolControls?.yield(.terminate)
                toolControls?.finish()
                return exit(group: &tools)
            case .stagingIO(let io):
                staging?.perform(io) { event in input.yield(.agent(.staging(event))) }
            case .joined, .bootstrapped, .failure, .output, .report, .stagingReport, .stagingProgress:
                break
            }
        }
        return false
    }

    /// The machine exited: its links send what was written (a forwarded terminate, the last output), at most a
    /// second, without waiting for peers to close their side (a hung one never would). True when nothing is left
    /// to wait for (in-process links deliver at once); otherwise ``AgentRuntime/ShellEvent/drained`` comes.
    private func exit(group: inout ThrowingDiscardingTaskGroup<any Error>) -> Bool {
        let flushes = closing + links.values.compactMap { $0.writer.finish() }
        links = [:]
        closing = []
        guard !flushes.isEmpty else {
            state = .ended
            return true
        }
        state = .exiting
        let input = self.input
        let logger = self.logger
        let eventLoop = environment.group.next()
        group.addTask {
            // A stopped peer may never take its link's last writes: the wait is bounded, not the writes.
            let sent = EventLoopFuture.andAllComplete(flushes, on: eventLoop)
            if await !sent.completes(within: .seconds(1)) {
                logger.debug("links still had unsent data after 1 s at exit; closing them")
            }
            input.yield(.drained)
        }
        return false
    }

    /// The agent ended: every link still open closes now.
    func closeAll() {
        state = .ended
        for writer in allLinks.values { writer.abort() }
        allLinks = [:]
    }
}
