import NIOCore
import Topology
import Wire

/// One logical agent's protocol logic (controller = rank 0, or a node's root agent), as a sans-I/O state
/// machine: feed it ``AgentEvent``s with the time, execute the ``AgentDirective``s it returns.
///
/// Phases: *joining* (link to the boot-tree parent within the handshake window, else exit) → *bootstrapping*
/// (children connect within the window and report their subtrees; the report goes up) → *wiring* (the
/// controller's go — its failure list, not its address table — comes down the tree; each agent learns its
/// binomial-graph neighbours' endpoints from its neighbours (``wiring``), the dialling end of each link
/// dials; wired counts go up) → *running* (heartbeats on the watched links, launch/control commands down the
/// tree — the children of a failed agent ask the controller for them —, PMI releases flooded, output and
/// reports routed to rank 0 over the tree or, around a failure, greedily over the binomial graph) → *exited*.
///
/// A non-controller agent holds O(log N) state: the endpoints of its neighbours, the failures of its
/// neighbours and tree ancestors (``LocalRouter``); only the controller keeps the whole address table.
/// A failure is reported to the controller (routed, deduplicated on the way) and down the failed agent's
/// subtree (``ControlPayload/ancestorFailed(_:)``), not flooded to every agent.
public struct AgentMachine: Sendable {
    /// Static facts about the agent and its job.
    public struct Configuration: Sendable {
        /// This agent's own endpoint (rank, advertised host, port, pid).
        public var endpoint: AgentEndpoint
        /// Ranks in the job, controller included (nodes + 1).
        public var rankCount: Int
        /// The boot tree.
        public var tree: BootTree
        /// Window for a child to connect / for this agent to reach its parent, and for BMG links.
        public var handshakeWindow: Duration
        /// Heartbeat period (nil disables the ping-pong detector).
        public var heartbeatPeriod: Duration?
        /// Heartbeat timeout (default 1.5 × period).
        public var heartbeatTimeout: Duration?
        /// The parent's endpoint (nil for the controller).
        public var parent: AgentEndpoint?
        /// Staging flow-control window, in chunks per child.
        public var stagingWindow: Int = 8
        /// Whether the controller passes its whole address table down to every agent (VM jobs: every node's
        /// switch joins every other's, ``NodeTaskPlan/nodeAddresses``); otherwise agents learn only their
        /// neighbours' endpoints.
        public var fullAddressTable = false
        /// Whether the heartbeat detector backs off under load (local health, suspicion; see
        /// ``HeartbeatDetector``); false keeps the fixed timeout (`VHPC_DETECTOR=fixed`, for benchmarks).
        public var adaptiveDetector = true
        /// Controller: once every agent joined, hold the go to wire until ``AgentEvent/wire`` (the front-end's
        /// job sends it once the job has run long enough to need the binomial graph, see
        /// ``JobMachine/Configuration/wiringDelay``); false: the go goes down as soon as every agent joined.
        public var holdsWiring = false

        public init(
            endpoint: AgentEndpoint, rankCount: Int, tree: BootTree, handshakeWindow: Duration = .seconds(10),
            heartbeatPeriod: Duration? = .seconds(1), heartbeatTimeout: Duration? = nil, parent: AgentEndpoint?
        ) {
            self.endpoint = endpoint
            self.rankCount = rankCount
            self.tree = tree
            self.handshakeWindow = handshakeWindow
            self.heartbeatPeriod = heartbeatPeriod
            self.heartbeatTimeout = heartbeatTimeout
            self.parent = parent
        }
    }

    /// Where the agent stands.
    public enum Phase: String, Sendable, Hashable {
        case idle, joining, bootstrapping, wiring, running, exited
    }

    public let configuration: Configuration
    public var rank: Int { configuration.endpoint.rank }
    public var isController: Bool { rank == 0 }
    public private(set) var phase: Phase = .idle
    /// Neighbours with an authenticated link.
    public private(set) var links: Set<Int> = []
    /// Ranks known failed: at the controller every reported one; elsewhere neighbours and tree ancestors.
    public private(set) var failures: [Int: FailureNotice] = [:]
    /// Endpoints known: at the controller the whole table; elsewhere the neighbours' (and the whole table
    /// with ``Configuration/fullAddressTable``).
    public private(set) var addresses: [Int: AgentEndpoint] = [:]
    /// Current router (tree first, greedy binomial graph around failures), from local knowledge.
    public private(set) var router: LocalRouter
    /// The controller's go to wire has come (or, at the controller, gone out).
    public private(set) var tableInstalled = false
    /// Controller with ``Configuration/holdsWiring``: every agent joined, the go waits for ``AgentEvent/wire``.
    public private(set) var holdingWiring = false
    /// Learning the neighbours' endpoints (see ``NeighbourDiscovery``).
    private var discovery: NeighbourDiscovery
    private var bootstrap: BootstrapTracker
    private var parentDeadline: Duration?
    /// A non-controller agent that reported its subtree: when the address table must have come by.
    private var tableDeadline: Duration?
    private var wiringPending: Set<Int> = []
    private var wiringDeadline: Duration?
    private var ownWired = false
    private var wiredChildrenPending: Set<Int> = []
    /// When the children's "subtree wired" reports must have come by (a child stopped after the table came
    /// would otherwise hold the bootstrap for ever: no heartbeat runs before launch or staging).
    private var wiredDeadline: Duration?
    private var wiredCount = 0
    private var wiredReported = false
    private var detector: HeartbeatDetector?
    private var heartbeatArmed = false
    /// The detector runs with its lenient staging timeout (see ``armHeartbeat(staging:)``).
    private var stagingHeartbeat = false
    /// Closed links being re-established: peer → deadline.
    private var relinking: [Int: Duration] = [:]
    /// Child agents whose process exited (SIGCHLD): their closed links are not cut links.
    private var exitedChildren: Set<Int> = []
    private var flood = FloodFilter()
    /// Launch and control commands this agent has had, in order. They go down the tree — one copy per agent,
    /// from its parent, where a flood over every binomial-graph link delivered one per neighbour (34 at 100,000
    /// agents) — and go again to a tree child whose link comes up again.
    public private(set) var commands: [Message] = []
    /// Controller: agents whose tree parent failed, which asked for the commands
    /// (``ControlPayload/commandSync(requester:)``): every later command is routed to each of them too, since
    /// it cannot come down their branch.
    private var orphans: Set<Int> = []
    private var sequences: [Int: [IOStream: UInt64]] = [:]
    /// Tasks whose streams ended (how many chunks each carried; whether the end's mark is held here), until their
    /// exit is reported with the counts.
    private var streamEnds: [Int: [IOStream: (chunks: UInt64, held: Bool)]] = [:]
    /// Tasks whose exit was reported: their end-of-stream marks go up on their own.
    private var exitReported: Set<Int> = []
    private var launchID: UInt64 = 0
    /// The launch came (or, at the controller, went out).
    private var launched = false
    /// Final reports (task exits and end-of-stream marks), re-sent whenever a failure may have eaten them.
    private var finalReports: [Message] = []
    /// Failure reports this agent passed toward the controller, by the hop they went to. Later copies of a
    /// report are dropped here (flood filter), so one taken by a hop that had hung too went no further, and
    /// its failure was never declared: when the hop is found failed they are routed again around it. One
    /// report per failure seen, as the flood filter keeps.
    private(set) var reportsVia: [Int: [Message]] = [:]
    /// Hops this agent handed a failure report to over a link the detector does not watch (a binomial-graph
    /// link, taken around a failed ancestor): pinged until they answer, so that a hop that had hung too is
    /// found and the report routed around it (nobody else may watch that link for this agent).
    private var reportHops: Set<Int> = []
    private var now: Duration = .zero
    /// File staging (see ``StagingMachine``).
    public private(set) var staging: StagingMachine
    /// Controller: the job's PMI fences (set up at launch).
    private var pmiFences: PMIFenceTracker?
    /// Fences (controller) or releases (nodes) that came in several parts, until every part is in.
    private var pmiParts = PMIParts()

    public init(configuration: Configuration) throws(TopologyError) {
        self.configuration = configuration
        let rank = configuration.endpoint.rank
        router = try LocalRouter(rank: rank, tree: configuration.tree)
        discovery = NeighbourDiscovery(rank: rank, rankCount: configuration.rankCount)
        bootstrap = BootstrapTracker(own: configuration.endpoint, children: configuration.tree.children(of: rank), deadline: .zero)
        staging = StagingMachine(configuration: .init(rank: rank, tree: configuration.tree, window: configuration.stagingWindow))
        if let period = configuration.heartbeatPeriod {
            detector = Self.makeDetector(configuration, period: period, timeout: configuration.heartbeatTimeout)
        }
    }

    /// The ping-pong detector of `configuration` with `timeout` (nil: the detector's default).
    private static func makeDetector(_ configuration: Configuration, period: Duration, timeout: Duration?,
                                     adaptive: Bool? = nil) -> HeartbeatDetector {
        HeartbeatDetector(
            rank: configuration.endpoint.rank, period: period, timeout: timeout,
            expectedTick: AgentHost.tickInterval(heartbeatMilliseconds: Int(period.milliseconds)),
            adaptive: adaptive ?? configuration.adaptiveDetector)
    }

    /// The heartbeat detector's watched peers (for status views).
    public var watchedPeers: [Int] { detector?.watched ?? [] }

    /// Handles one event at time `now`.
    public mutating func handle(_ event: AgentEvent, now: Duration) -> [AgentDirective] {
        self.now = now
        guard phase != .exited else { return [] }
        var out: [AgentDirective] = []
        switch event {
        case .start: start(&out)
        case .linkUp(let peer): linkUp(peer, &out)
        case .linkDown(let peer): linkDown(peer, &out)
        case .message(let message, let peer): receive(message, from: peer, &out)
        case .tick: tick(&out)
        case .dialFailed(let peer, let detail):
            if relinking.removeValue(forKey: peer) != nil {
                detect(peer, .connectionClosed, "connection closed and could not be re-established: \(detail)", &out)
            }
        case .spawnFailed(let child, let detail):
            // A child already linked has started (a job step that exits later is seen on the link).
            guard !links.contains(child) else { break }
            detect(child, .handshakeFailed, "could not start: \(detail)", &out)
        case .childExited(let child, let status):
            exitedChildren.insert(child)
            if failures[child] == nil, phase != .running || !links.contains(child) {
                detect(child, .childExited, "agent process exited with status \(status)", &out)
            }
        case .taskOutput(let task, let stream, let data, let eos): taskOutput(task, stream, data, eos, &out)
        case .taskExited(let task, let status, let message):
            taskExited(task, status, message, &out)
        case .launchFailed(let message):
            routeToController(ControlPayload.launchFailed(node: rank, message: message).message, &out)
        case .pmiFence(let epoch, let entries):
            let parts = PMIParts.split(entries)
            for (index, part) in parts.enumerated() {
                routeToController(ControlPayload.pmiFence(node: rank, epoch: epoch, entries: part, part: index, parts: parts.count).message, &out)
            }
        case .broadcast(let message):
            if isController { takeCommand(message, from: nil, &out) }
        case .stdin(let data):
            if isController { route(.ioData(data), to: Int(data.rank), &out) }
        case .stage(let offer):
            if isController {
                armHeartbeat(staging: true)
                stage(&out) { $0.start(offer) }
            }
        case .staging(let event):
            stage(&out) { $0.handle(event) }
        case .wire:
            if isController, holdingWiring {
                holdingWiring = false
                installTable(bootstrap.endpoints, failed: failures.keys.sorted(), message: nil, &out)
            }
        }
        return out
    }

    // MARK: Bootstrap

    private mutating func start(_ out: inout [AgentDirective]) {
        guard phase == .idle else { return }
        bootstrap = BootstrapTracker(
            own: configuration.endpoint, children: configuration.tree.children(of: rank),
            deadline: now + configuration.handshakeWindow)
        if let parent = configuration.parent {
            phase = .joining
            parentDeadline = now + configuration.handshakeWindow
            out.append(.dial(rank: parent.rank, host: parent.host, port: parent.port))
        } else {
            phase = .bootstrapping
            progressBootstrap(&out)
        }
    }

    private var parentRank: Int? { configuration.tree.parent(of: rank) }

    /// Starts the ping-pong detector on the watched links: at launch with the job's timeout; during staging
    /// (`staging`) with a lenient fixed one, 8 × the timeout and at least 5 s — staging loads every node's CPU
    /// and disk, and only a stall (a stopped or hung agent) must be found there, in bounded time.
    private mutating func armHeartbeat(staging: Bool = false) {
        guard !heartbeatArmed, let period = configuration.heartbeatPeriod else { return }
        if staging {
            guard !stagingHeartbeat else { return }
            stagingHeartbeat = true
            let timeout = configuration.heartbeatTimeout ?? period + period / 2
            // Fixed, not adaptive: under staging's load the local-health scaling kept a stopped agent from
            // ever being declared (not within 90 s); a fixed 5 s or more bounds it (3-7 s measured).
            detector = Self.makeDetector(configuration, period: period, timeout: max(timeout * 8, .seconds(5)), adaptive: false)
        } else {
            heartbeatArmed = true
            if stagingHeartbeat { detector = Self.makeDetector(configuration, period: period, timeout: configuration.heartbeatTimeout) }
        }
        for peer in links where isWatched(peer) { detector?.watch(peer, now: now) }
    }

    /// Whether the ping-pong detector watches the link to `peer` (see ``HeartbeatWatchSet``).
    private func isWatched(_ peer: Int) -> Bool {
        HeartbeatWatchSet.watches(rank, peer, tree: configuration.tree, rankCount: configuration.rankCount)
    }

    private mutating func linkUp(_ peer: Int, _ out: inout [AgentDirective]) {
        if failures[peer] != nil {
            out.append(.closeLink(peer))
            return
        }
        links.insert(peer)
        if relinking.removeValue(forKey: peer) != nil { router.markRestored(link: peer) }
        if !commands.isEmpty, configuration.tree.parent(of: peer) == rank {
            // A tree child's link back up: the commands it may have lost with it (it drops those it has).
            for command in commands { out.append(.send(command, to: peer)) }
        }
        if heartbeatArmed || stagingHeartbeat, isWatched(peer) { detector?.watch(peer, now: now) }
        if peer == parentRank, phase == .joining {
            phase = .bootstrapping
            parentDeadline = nil
            progressBootstrap(&out)
        }
        if configuration.tree.parent(of: peer) == rank { bootstrap.connected(peer, reportBy: now + reportWindow) }
        if wiringPending.remove(peer) != nil { progressWiring(&out) }
        if let push = discovery.push(linkedTo: peer, known: addresses) { send(push, &out) }
        if staging.hasTransfers { stage(&out) { $0.linkUp(peer) } }
    }

    private mutating func progressBootstrap(_ out: inout [AgentDirective]) {
        guard phase == .bootstrapping, bootstrap.isComplete else { return }
        if isController {
            var failed = Dictionary(bootstrap.failed.map { ($0.rank, $0) }, uniquingKeysWith: { first, _ in first })
            let up = Set(bootstrap.endpoints.map(\.rank))
            for missing in 1..<configuration.rankCount where !up.contains(missing) && failed[missing] == nil {
                failed[missing] = FailureNotice(
                    rank: missing, reporter: 0, detector: .handshakeFailed, detail: "never joined (its boot-tree ancestor failed)")
            }
            for notice in failed.values.sorted(by: { $0.rank < $1.rank }) where failures[notice.rank] == nil {
                record(notice, &out)
                out.append(.failure(notice))
            }
            if configuration.holdsWiring {
                // The tree alone carries the job until the go (AgentEvent.wire): a job that ends first never wires.
                phase = .wiring
                holdingWiring = true
            } else {
                installTable(bootstrap.endpoints, failed: Array(failed.keys), message: nil, &out)
            }
            out.append(.joined(endpoints: bootstrap.endpoints.filter { failures[$0.rank] == nil }.sorted { $0.rank < $1.rank }))
        } else if let parent = parentRank, links.contains(parent) {
            out.append(.send(ControlPayload.subtreeReady(endpoints: bootstrap.endpoints, failed: bootstrap.failed).message, to: parent))
            phase = .wiring
            tableDeadline = now + tableWindow
        }
    }

    /// How long a connected child's subtree report may take (one handshake window per level below it, and
    /// one more), and its "subtree wired" report after the table came. Shorter than its siblings'
    /// ``tableWindow`` (they report about when it connects), so a child stopped after its handshake is
    /// declared before they give up on the table.
    private var reportWindow: Duration { configuration.handshakeWindow * (configuration.tree.height + 1) }

    /// How long the address table may take after this agent reported its subtree: every level of the tree
    /// may use one handshake window for its children, and two more are allowed for the way back down.
    private var tableWindow: Duration { configuration.handshakeWindow * (configuration.tree.height + 2) }

    /// Installs the controller's go to wire and passes it down: `message` as received (no re-encoding), or,
    /// at the controller, made from its failure list (and its whole table with
    /// ``Configuration/fullAddressTable``). Agents then learn their neighbours' endpoints (``discover(_:)``).
    private mutating func installTable(_ endpoints: [AgentEndpoint], failed: [Int], message: Message?, _ out: inout [AgentDirective]) {
        tableDeadline = nil
        tableInstalled = true
        addresses.reserveCapacity(endpoints.count)
        for endpoint in endpoints { addresses[endpoint.rank] = endpoint }
        // What this agent knows without asking: its parent, and its children (from their subtree reports).
        if let parent = configuration.parent { addresses[parent.rank] = parent }
        let children = configuration.tree.children(of: rank)
        for endpoint in bootstrap.endpoints where children.contains(endpoint.rank) { addresses[endpoint.rank] = endpoint }
        // Lookups that came before the table (a neighbour already wiring) and that it, or the subtree's
        // reports, answer: the askers wait on nothing else.
        for (target, requesters) in discovery.answerable(known: addresses) {
            guard let endpoint = addresses[target] else { continue }
            for requester in requesters {
                route(ControlPayload.introduce(to: requester, endpoint: endpoint).message, to: requester, &out)
            }
        }
        for rank in failed where failures[rank] == nil && (isController || router.isNeighbor(rank)) {
            record(FailureNotice(rank: rank, reporter: 0, detector: .handshakeFailed, detail: "did not join"), &out)
        }
        discovery.failedAtStart = Set(failed)
        let table = message ?? ControlPayload.addressTable(
            endpoints: configuration.fullAddressTable ? endpoints : [], failed: failed).message
        for child in children where links.contains(child) {
            out.append(.send(table, to: child))
        }
        phase = .wiring
        let neighbours = Set(router.neighbors()).filter { failures[$0] == nil && !discovery.failedAtStart.contains($0) }
        wiringPending = neighbours.subtracting(links)
        // The ring predecessor learns this agent's endpoint from it, along the tree.
        let predecessor = discovery.predecessor
        if predecessor != rank, predecessor != parentRank, configuration.tree.parent(of: predecessor) != rank,
           !discovery.failedAtStart.contains(predecessor) {
            route(ControlPayload.introduce(to: predecessor, endpoint: configuration.endpoint).message, to: predecessor, &out)
        }
        wiringDeadline = now + configuration.handshakeWindow
        wiredChildrenPending = Set(configuration.tree.children(of: rank).filter { failures[$0] == nil })
        wiredDeadline = now + reportWindow
        discovery.started = true
        let pushes = discovery.pushes(known: addresses, linked: links)
        for push in pushes { send(push, &out) }
        discover(&out)
        progressWiring(&out)
    }

    /// Dials the links this agent dials whose endpoint it knows, and asks its neighbours for the endpoints
    /// it still needs (see ``NeighbourDiscovery``).
    private mutating func discover(_ out: inout [AgentDirective]) {
        guard phase == .wiring || phase == .running else { return }
        for peer in wiringPending.sorted() { dialIfDue(peer, &out) }
        ask(discovery.requests(known: addresses, failed: failures), &out)
    }

    /// Dials `peer` if this end dials that link, its endpoint is known and it is not up or dialled yet.
    private mutating func dialIfDue(_ peer: Int, _ out: inout [AgentDirective]) {
        guard wiringPending.contains(peer), router.dials(peer), !discovery.dialed.contains(peer), let endpoint = addresses[peer] else { return }
        discovery.dialed.insert(peer)
        out.append(.dial(rank: peer, host: endpoint.host, port: endpoint.port))
    }

    private mutating func ask(_ requests: [NeighbourDiscovery.Request], _ out: inout [AgentDirective]) {
        for request in requests {
            route(ControlPayload.lookup(target: request.target, requester: rank, helper: request.helper).message, to: request.helper, &out)
        }
    }

    /// Sends an endpoint unasked to the neighbour that needs it (``NeighbourDiscovery/Push``). (Worked out
    /// before the call, never in its argument list: a call on `self` whose argument mutates `self` copies the
    /// whole machine first — a quarter of the simulator's time when it did.)
    private func send(_ push: NeighbourDiscovery.Push, _ out: inout [AgentDirective]) {
        guard let endpoint = addresses[push.target] else { return }
        out.append(.send(ControlPayload.introduce(to: push.to, endpoint: endpoint).message, to: push.to))
    }

    /// An endpoint this agent asked for (or was introduced to): keep it, answer whoever asked for it, pass it
    /// on to the neighbour that needs it next, dial.
    private mutating func learn(_ endpoint: AgentEndpoint, _ out: inout [AgentDirective]) {
        guard endpoint.rank != rank else { return }
        if addresses[endpoint.rank] == nil || !isController { addresses[endpoint.rank] = endpoint }
        for requester in discovery.answered(endpoint.rank) {
            route(ControlPayload.introduce(to: requester, endpoint: endpoint).message, to: requester, &out)
        }
        if let push = discovery.push(learned: endpoint.rank, linked: links) { send(push, &out) }
        if phase == .wiring || phase == .running { dialIfDue(endpoint.rank, &out) }
    }

    private mutating func progressWiring(_ out: inout [AgentDirective]) {
        guard phase == .wiring, tableInstalled else { return }
        if wiringPending.isEmpty && !ownWired {
            ownWired = true
            wiringDeadline = nil
        }
        guard ownWired, wiredChildrenPending.isEmpty, !wiredReported else { return }
        wiredReported = true
        wiredDeadline = nil
        phase = .running
        if isController {
            let live = addresses.values.filter { failures[$0.rank] == nil }.sorted { $0.rank < $1.rank }
            out.append(.bootstrapped(endpoints: live, failed: failures.values.sorted { $0.rank < $1.rank }))
        } else {
            let message = ControlPayload.subtreeWired(count: wiredCount + 1).message
            if let parent = parentRank, links.contains(parent) {
                out.append(.send(message, to: parent))
            } else {
                routeToController(message, &out)
            }
        }
    }

    // MARK: Links and failures

    private mutating func linkDown(_ peer: Int, _ out: inout [AgentDirective]) {
        guard links.remove(peer) != nil else { return }
        detector?.forget(peer)
        if peer == parentRank, !tableInstalled, !launched {
            exit("lost the link to parent agent \(peer) during bootstrap", failed: true, &out)
            return
        }
        // A running peer whose process is not known to be gone may only have lost this connection (a cut
        // link): route around it and re-establish it — the end that dialled it when wiring dials again. A
        // dead peer's listener refuses at once, so kill -9 is still detected in one round trip. Once launched
        // the same holds before the go to wire (the tree links; the parent's endpoint is the configuration's).
        let endpoint = addresses[peer] ?? (peer == parentRank ? configuration.parent : nil)
        if phase == .running || launched, failures[peer] == nil, !exitedChildren.contains(peer), endpoint != nil || !router.dials(peer) {
            router.markCut(link: peer)
            relinking[peer] = now + relinkWindow
            if router.dials(peer), let endpoint { out.append(.dial(rank: peer, host: endpoint.host, port: endpoint.port)) }
            return
        }
        detect(peer, .connectionClosed, "connection closed", &out)
    }

    /// How long a closed link may take to come back before its peer is declared failed.
    private var relinkWindow: Duration { min(configuration.handshakeWindow, .seconds(2)) }

    private mutating func tick(_ out: inout [AgentDirective]) {
        if isController, var fences = pmiFences {
            for (epoch, entries) in fences.tick(now: now) { releasePMI(epoch, entries, &out) }
            pmiFences = fences
        }
        if let deadline = parentDeadline, now >= deadline {
            exit("no handshake with parent agent \(parentRank ?? 0) within \(configuration.handshakeWindow)", failed: true, &out)
            return
        }
        // A parent that stays connected but never passes the table down (its own side of the job is gone)
        // must not keep this agent alive forever.
        if let deadline = tableDeadline, now >= deadline {
            exit("no address table from parent agent \(parentRank ?? 0) within \(tableWindow)", failed: true, &out)
            return
        }
        for (peer, deadline) in relinking.sorted(by: { $0.key < $1.key }) where now >= deadline {
            relinking[peer] = nil
            detect(peer, .connectionClosed, "connection closed and not re-established within \(relinkWindow)", &out)
        }
        for child in bootstrap.expired(now: now) where failures[child] == nil {
            detect(child, .handshakeFailed, bootstrap.hasConnected(child)
                ? "connected but did not report its subtree within \(reportWindow)"
                : "no handshake within \(configuration.handshakeWindow)", &out)
        }
        if let deadline = wiringDeadline, now >= deadline {
            wiringDeadline = nil
            for peer in wiringPending.sorted() {
                detect(peer, .handshakeFailed, "binomial-graph link not up within \(configuration.handshakeWindow)", &out)
            }
            wiringPending = []
            progressWiring(&out)
        }
        if let deadline = wiredDeadline, now >= deadline {
            wiredDeadline = nil
            for child in wiredChildrenPending.sorted() {
                detect(child, .handshakeFailed, "did not report its subtree wired within \(reportWindow)", &out)
            }
        }
        // In place: a copy would make the detector's first write copy its peers.
        guard detector != nil else { return }
        let actions = detector!.tick(now: now)
        for action in actions {
            switch action {
            case .ping(let peer, let id):
                out.append(.send(.ping(Heartbeat(id: id, timestamp: UInt64(now.components.seconds))), to: peer))
            case .suspect(let peer, let silence):
                detect(peer, .heartbeatTimeout, "silent for \(silence.milliseconds) ms", &out)
            }
        }
    }

    /// A local detector fired for neighbour/child `peer`.
    private mutating func detect(_ peer: Int, _ detector: FailureDetector, _ detail: String, _ out: inout [AgentDirective]) {
        guard failures[peer] == nil, peer != rank else { return }
        let notice = FailureNotice(rank: peer, reporter: rank, detector: detector, detail: detail)
        spread(notice, from: nil, &out)
    }

    /// A failure detected here (`from` nil) or reported by `from` on its way to the controller: recorded
    /// where it concerns this agent (a neighbour or an ancestor), and passed on toward the controller once.
    private mutating func spread(_ notice: FailureNotice, from: Int?, _ out: inout [AgentDirective]) {
        guard flood.firstSighting(.failure(rank: notice.rank)) else { return }
        if isController {
            out.append(.failure(notice))
            record(notice, &out)
            if var fences = pmiFences {
                for (epoch, entries) in fences.nodesFailed(Set(failures.keys)) { releasePMI(epoch, entries, &out) }
                pmiFences = fences
            }
            return
        }
        let report = Message.failureReport(FailureReport(
            reporter: UInt32(notice.reporter), failed: UInt32(notice.rank),
            detector: FailureDetector.allCases.first { $0.name == notice.detector } ?? .connectionClosed,
            timestamp: UInt64(now.components.seconds), detail: notice.detail))
        // The agent declared failed hears it (a hung one that wakes up fences itself), then the link closes.
        if from == nil, links.contains(notice.rank) { out.append(.send(report, to: notice.rank)) }
        if router.isNeighbor(notice.rank) || configuration.tree.isInSubtree(rank, of: notice.rank) { record(notice, &out) }
        let hop = routeReport(report, &out)
        if from == nil, hop != 0, let second = router.alternateHop(to: 0, besides: hop, linked: links) {
            // A report made here also goes up a second way: a hop on the first that hung too (not known failed
            // yet) holds it until that hop is itself declared, a timeout later — at 100,000 nodes in the model,
            // 1 % hung, the slowest declaration took 7.0 s against a median of 2.3 s. Relays drop the copy that
            // comes second (flood filter), so each agent still passes a report on once.
            out.append(.send(report, to: second))
        }
        if cutOffFromController {
            exit("controller unreachable after failure of agent \(notice.rank)", failed: true, &out)
            return
        }
        // Reports in flight through the failed agent may be lost: send the final ones again (idempotent).
        for report in finalReports { routeToController(report, &out) }
    }

    /// Whether no route to the controller is left: none over the binomial graph's neighbours, or, before the go
    /// to wire came (the tree is the only way up and nothing will wire), a tree ancestor failed — as a lost
    /// parent link ends the agent then (a stopped parent is found by the heartbeat instead).
    private var cutOffFromController: Bool {
        if !router.canReach(0) { return true }
        guard !isController, !tableInstalled, !router.failedAncestors.isEmpty else { return false }
        // Only links up now that lead out of this agent's own subtree count (a child may be a graph neighbour too).
        let outward = links.filter { !configuration.tree.isInSubtree($0, of: rank) }
        return !router.canReach(0, linked: outward)
    }

    /// Marks a rank failed locally: router, links, pending bootstrap and wiring state; an ancestor's failure
    /// goes on down to the children (they route around it).
    private mutating func record(_ notice: FailureNotice, _ out: inout [AgentDirective]) {
        guard failures[notice.rank] == nil else { return }
        failures[notice.rank] = notice
        if isController {
            // Commands come down the tree: the failed agent's children get them from here instead, now and
            // every later one. Not left to their own request (commandSync) alone: a child with no link outward
            // yet has no way to send it, and one whose parent hung before the launch never notices (no
            // heartbeat runs before it), while the parent's own watchers report it here.
            for child in configuration.tree.children(of: notice.rank) where failures[child] == nil && orphans.insert(child).inserted {
                if !commands.isEmpty { routeOverRing(ControlPayload.commands(to: child, commands).message, to: child, &out) }
            }
        }
        relinking[notice.rank] = nil
        router.markFailed(node: notice.rank)
        if notice.rank != rank, configuration.tree.isInSubtree(rank, of: notice.rank) {
            let message = ControlPayload.ancestorFailed(notice).message
            for child in configuration.tree.children(of: rank) where links.contains(child) && child != notice.rank {
                out.append(.send(message, to: child))
            }
        }
        detector?.forget(notice.rank)
        if links.remove(notice.rank) != nil { out.append(.closeLink(notice.rank)) }
        if notice.rank == parentRank {
            // Commands come down the tree: ask the controller for those the parent may not have passed on, and
            // for every later one (its answer goes around the parent; this agent passes them down as usual).
            routeToController(ControlPayload.commandSync(requester: rank).message, &out)
        }
        reportHops.remove(notice.rank)
        for report in reportsVia.removeValue(forKey: notice.rank) ?? [] { routeReport(report, &out) }
        if bootstrap.childFailed(notice) { progressBootstrap(&out) }
        if wiringPending.remove(notice.rank) != nil { progressWiring(&out) }
        if wiredChildrenPending.remove(notice.rank) != nil { progressWiring(&out) }
        // A failed helper: ask the controller instead.
        if discovery.started, phase == .wiring { ask(discovery.requests(known: addresses, failed: failures), &out) }
        stage(&out) { $0.peerFailed(notice.rank) }
    }

    private mutating func exit(_ reason: String, failed: Bool, _ out: inout [AgentDirective]) {
        guard phase != .exited else { return }
        phase = .exited
        for peer in links.sorted() { out.append(.closeLink(peer)) }
        links = []
        out.append(.exit(reason: reason, failed: failed))
    }

    // MARK: Messages

    private mutating func receive(_ message: Message, from peer: Int, _ out: inout [AgentDirective]) {
        detector?.heard(from: peer, now: now)
        switch message {
        case .ping(let heartbeat):
            out.append(.send(.pong(heartbeat), to: peer))
        case .pong:
            // It answered a ping sent after the reports it was handed (that link is not pinged otherwise): it
            // is not stopped, and it read them; stop pinging it.
            if reportHops.remove(peer) != nil, !isWatched(peer) {
                detector?.forget(peer)
                reportsVia[peer] = nil
            }
        case .failureReport(let report):
            if Int(report.failed) == rank {
                exit("declared failed by agent \(report.reporter) (\(report.detector.name))", failed: true, &out)
                return
            }
            let notice = FailureNotice(
                rank: Int(report.failed), reporter: Int(report.reporter), detector: report.detector, detail: report.detail)
            spread(notice, from: peer, &out)
        case .launch, .control:
            takeCommand(message, from: peer, &out)
        case .ioData(let data):
            if data.stream == .stdin {
                if Int(data.rank) == rank { out.append(.writeStdin(data)) } else { route(message, to: Int(data.rank), &out) }
            } else if isController {
                out.append(.output(data))
            } else {
                route(message, to: 0, &out)
            }
        case .agentControl:
            guard let payload = ControlPayload(message: message) else { return }
            receive(payload, message: message, from: peer, &out)
        case .fileChunk(let chunk):
            stage(&out) { $0.receiveChunk(chunk, from: peer) }
        case .ack(let ack) where ack.of == .fileChunk:
            stage(&out) { $0.receiveAck(ack.id, position: ack.position, from: peer) }
        default:
            break
        }
    }

    private mutating func receive(_ payload: ControlPayload, message: Message, from peer: Int, _ out: inout [AgentDirective]) {
        switch payload {
        case .subtreeReady(let endpoints, let failed):
            for notice in failed where failures[notice.rank] == nil {
                if isController { spread(notice, from: peer, &out) } else if router.isNeighbor(notice.rank) { record(notice, &out) }
            }
            if bootstrap.reported(peer, endpoints: endpoints, failed: failed) { progressBootstrap(&out) }
        case .addressTable(let endpoints, let failed):
            guard !tableInstalled, peer == parentRank else { return }
            installTable(endpoints, failed: failed, message: message, &out)
        case .lookup(let target, let requester, let helper):
            if helper != rank {
                route(message, to: helper, &out)
            } else if let endpoint = addresses[target] {
                route(ControlPayload.introduce(to: requester, endpoint: endpoint).message, to: requester, &out)
            } else {
                discovery.wait(for: target, requester: requester)
            }
        case .introduce(let destination, let endpoint):
            if destination == rank { learn(endpoint, &out) } else { route(message, to: destination, &out) }
        case .ancestorFailed(let notice):
            guard peer == parentRank, failures[notice.rank] == nil else { return }
            record(notice, &out)
            if cutOffFromController {
                exit("controller unreachable after failure of agent \(notice.rank)", failed: true, &out)
                return
            }
            for report in finalReports { routeToController(report, &out) }
        case .subtreeWired(let count):
            if isController || wiredChildrenPending.contains(peer) {
                wiredCount += count
                wiredChildrenPending.remove(peer)
                progressWiring(&out)
            } else {
                routeToController(message, &out)
            }
        case .taskExited, .launchFailed:
            if isController { out.append(.report(payload)) } else { route(message, to: 0, &out) }
        case .stageOffer(let offer):
            armHeartbeat(staging: true)  // staging waits on every node: a stopped one must be found
            stage(&out) { $0.receiveOffer(offer, from: peer) }
        case .stageResend(let id, let offset):
            stage(&out) { $0.receiveResend(id, offset: offset, from: peer) }
        case .stageDetach(let id):
            stage(&out) { $0.receiveDetach(id, from: peer) }
        case .staged(let report):
            if isController { out.append(.stagingReport(report)) } else { route(message, to: 0, &out) }
        case .pmiFence(let node, let epoch, let entries, let part, let parts):
            guard isController else { route(message, to: 0, &out); return }
            guard let whole = pmiParts.add(source: node, epoch: epoch, part: part, parts: parts, entries: entries) else { return }
            guard var fences = pmiFences else { return }
            let released = fences.fence(from: node, epoch: epoch, entries: whole, failed: Set(failures.keys), now: now)
            pmiFences = fences
            for (epoch, entries) in released { releasePMI(epoch, entries, &out) }
        case .pmiRelease(let epoch, let entries, let part, let parts):
            guard flood.firstSighting(.pmiRelease(epoch: epoch, part: part)) else { return }
            floodOut(message, except: peer, &out)
            if !isController, let whole = pmiParts.add(source: 0, epoch: epoch, part: part, parts: parts, entries: entries) {
                out.append(.pmiRelease(epoch: epoch, entries: whole))
            }
        case .commandSync(let requester):
            guard isController else { route(message, to: 0, &out); return }
            guard (1..<configuration.rankCount).contains(requester) else { return }
            orphans.insert(requester)
            if !commands.isEmpty { routeOverRing(ControlPayload.commands(to: requester, commands).message, to: requester, &out) }
        case .commands(let destination, let messages):
            guard (0..<configuration.rankCount).contains(destination) else { return }
            guard destination == rank else { routeOverRing(message, to: destination, &out); return }
            // From the controller, not the tree parent: passed down to every linked tree child.
            for command in messages { takeCommand(command, from: nil, &out) }
        case .stepJoin, .stepParent, .stepReady, .residentLaunch, .residentExited, .residentRelease, .residentReport, .residentOutput:
            break  // rendezvous messages travel on the front-end's rendezvous connections, never on links
        }
    }

    /// Controller: every node is in fence `epoch`; flood the merged puts down.
    private mutating func releasePMI(_ epoch: Int, _ entries: [PMIEntry], _ out: inout [AgentDirective]) {
        let parts = PMIParts.split(entries)
        for (index, part) in parts.enumerated() {
            guard flood.firstSighting(.pmiRelease(epoch: epoch, part: index)) else { return }
            floodOut(ControlPayload.pmiRelease(epoch: epoch, entries: part, part: index, parts: parts.count).message, except: nil, &out)
        }
    }

    /// A launch or control command, the first time it comes: kept, passed down to the tree children linked
    /// now (one whose link is down gets it when the link comes up again; the children of a failed one ask the
    /// controller, ``ControlPayload/commandSync(requester:)``), at the controller routed to those children too,
    /// then applied here.
    private mutating func takeCommand(_ message: Message, from peer: Int?, _ out: inout [AgentDirective]) {
        switch message {
        case .launch(let command): guard flood.firstSighting(.launch(command.id)) else { return }
        case .control(let command): guard flood.firstSighting(.control(command.id)) else { return }
        default: return
        }
        commands.append(message)
        for child in configuration.tree.children(of: rank) where child != peer && links.contains(child) {
            out.append(.send(message, to: child))
        }
        if isController {
            for orphan in orphans.sorted() { routeOverRing(ControlPayload.commands(to: orphan, [message]).message, to: orphan, &out) }
        }
        apply(message, &out)
    }

    /// Applies a launch or control command locally.
    private mutating func apply(_ message: Message, _ out: inout [AgentDirective]) {
        switch message {
        case .launch(let command):
            launchID = command.id
            launched = true
            if isController {
                let layout = TaskLayout(tasks: Int(command.tasks), nodes: max(1, configuration.rankCount - 1))
                pmiFences = PMIFenceTracker(nodes: Set((1..<max(2, configuration.rankCount)).filter { layout.taskCount(onNode: $0 - 1) > 0 }),
                                            lenientAfter: NodeTaskPlan.pmiLenientDelay(command.environmentDictionary))
            }
            // The ping-pong detector runs once the job runs: bootstrap is CPU-heavy on shared machines and a
            // slow-but-alive agent must not be declared dead; connection-close and SIGCHLD cover bootstrap.
            armHeartbeat()
            // The launch came down the tree: the controller and every ancestor were there. The go to wire may come
            // much later (held by the controller, see Configuration.holdsWiring); until then a failed ancestor ends
            // this agent (cutOffFromController) — found at once when its link closes, by the heartbeat when stopped.
            tableDeadline = nil
            if !isController {
                // A node that could not stage the job's files (its image, its --stage files) does not start
                // tasks that would run without them; the controller counts them as not started.
                if let reason = staging.failureReasons.first {
                    routeToController(ControlPayload.launchFailed(
                        node: rank, message: "tasks not started on node \(rank - 1): staging failed: \(reason)").message, &out)
                } else {
                    out.append(.startTasks(command))
                }
            }
        case .control(let command):
            if case .rank(let target) = command.target, Int(target) != rank { return }
            switch command.operation {
            case .terminate, .stop:
                exit("terminated by the controller", failed: false, &out)
            case .signal(let number):
                out.append(.signalTasks(number))
            default:
                break
            }
        default:
            break
        }
    }

    // MARK: Staging

    /// Runs a step of the staging machine with the current links and turns its actions into directives.
    private mutating func stage(_ out: inout [AgentDirective], _ step: (inout StagingMachine) -> [StagingAction]) {
        staging.links = links
        for action in step(&staging) {
            switch action {
            case .send(let message, let peer):
                if links.contains(peer) { out.append(.send(message, to: peer)) }
            case .flood(let message, let except):
                floodOut(message, except: except, &out)
            case .toController(let message):
                if isController { continue }
                finalReports.append(message)  // re-sent if a failure may have eaten it (the controller dedupes)
                route(message, to: 0, &out)
            case .io(let io): out.append(.stagingIO(io))
            case .progress(let id, let bytes): out.append(.stagingProgress(transferID: id, bytes: bytes))
            case .resendRequested(let id, let offset, let feeder):
                out.append(.stagingResendRequested(transferID: id, offset: offset, feeder: feeder))
            }
        }
    }

    // MARK: Output and routing

    /// A task's output. Its end-of-stream marks are held for its exit report (``OutputCounts``), which a backend
    /// sends after them; once an exit was reported (a PMI abort is reported before the process ends) they go up
    /// on their own.
    private mutating func taskOutput(_ task: Int, _ stream: IOStream, _ data: ByteBuffer, _ eos: Bool, _ out: inout [AgentDirective]) {
        let sequence = sequences[task, default: [:]][stream, default: 0]
        if eos, !exitReported.contains(task) {
            if data.readableBytes == 0 {
                streamEnds[task, default: [:]][stream] = (sequence, held: true)
                return
            }
            streamEnds[task, default: [:]][stream] = (sequence + 1, held: false)
        }
        sendOutput(task, stream, data, eos, &out)
    }

    private mutating func sendOutput(_ task: Int, _ stream: IOStream, _ data: ByteBuffer, _ eos: Bool, _ out: inout [AgentDirective]) {
        let sequence = sequences[task, default: [:]][stream, default: 0]
        sequences[task, default: [:]][stream] = sequence + 1
        let io = Wire.IOData(
            launchID: launchID, rank: UInt32(rank), task: UInt32(task), stream: stream, sequence: sequence,
            isEndOfStream: eos, data: data)
        if eos && data.readableBytes == 0 { finalReports.append(.ioData(io)) }
        routeToController(.ioData(io), &out)
    }

    /// Reports a task's exit, with how many chunks each of its streams carried when both have ended; a mark held
    /// for a stream that has ended goes up on its own otherwise.
    private mutating func taskExited(_ task: Int, _ status: Int32, _ message: String, _ out: inout [AgentDirective]) {
        let ends = streamEnds.removeValue(forKey: task) ?? [:]
        var output: OutputCounts?
        if !exitReported.contains(task), let stdout = ends[.stdout], let stderr = ends[.stderr] {
            output = OutputCounts(stdout: stdout.chunks, stderr: stderr.chunks)
        } else {
            for stream in [IOStream.stdout, .stderr] where ends[stream]?.held == true {
                sendOutput(task, stream, ByteBuffer(), true, &out)
            }
        }
        exitReported.insert(task)
        let report = ControlPayload.taskExited(node: rank, task: task, status: status, message: message, output: output).message
        finalReports.append(report)
        routeToController(report, &out)
    }

    /// Routes a failure report toward the controller, remembering the hop it took (``reportsVia``); returns that
    /// hop (nil: no way up).
    @discardableResult
    private mutating func routeReport(_ report: Message, _ out: inout [AgentDirective]) -> Int? {
        let sent = out.count
        route(report, to: 0, &out)
        guard out.count > sent, case .send(_, let hop) = out[sent] else { return nil }
        reportsVia[hop, default: []].append(report)
        if heartbeatArmed || stagingHeartbeat, !isWatched(hop), reportHops.insert(hop).inserted { detector?.watch(hop, now: now) }
        return hop
    }

    private mutating func routeToController(_ message: Message, _ out: inout [AgentDirective]) {
        if isController { return }
        route(message, to: 0, &out)
    }

    private func route(_ message: Message, to destination: Int, _ out: inout [AgentDirective]) {
        guard destination != rank else { return }
        if links.contains(destination) {
            out.append(.send(message, to: destination))
            return
        }
        if let hop = router.nextHop(to: destination, linked: links) {
            out.append(.send(message, to: hop))
            return
        }
        // No usable hop (the agent is cut off from `destination`): the message is dropped; the failure that
        // caused it is being reported separately.
    }

    /// Routes `message` to `destination` over the binomial graph alone (``LocalRouter/ringHop(to:linked:)``:
    /// never loops, where the tree's way down to an agent whose ancestor failed would); dropped when stuck.
    private func routeOverRing(_ message: Message, to destination: Int, _ out: inout [AgentDirective]) {
        guard destination != rank else { return }
        if links.contains(destination) {
            out.append(.send(message, to: destination))
        } else if let hop = router.ringHop(to: destination, linked: links) {
            out.append(.send(message, to: hop))
        }
    }

    private func floodOut(_ message: Message, except: Int?, _ out: inout [AgentDirective]) {
        for peer in links.sorted() where peer != except {
            out.append(.send(message, to: peer))
        }
    }
}
