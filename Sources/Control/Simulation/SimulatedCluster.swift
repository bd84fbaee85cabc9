import CControlSupport
import Topology
import Wire

/// The modelled cluster the scale simulations run on (never used by `vhpc run`): one real ``AgentMachine``
/// per node, a discrete-event loop on a virtual clock, links and processes as ``BootstrapModel`` says.
///
/// Each node runs its events one at a time: an event starts when it has arrived and the node is free, and
/// takes the CPU this machine spends in `AgentMachine.init`/`handle` and in encoding and decoding the frames
/// (``BootstrapCPU/measured``), plus the model's costs outside the protocol logic. Agents can be killed
/// (their links close, their parent's SIGCHLD fires, dials to them are refused) or hung (they stop handling
/// anything; their links stay open and dials to them time out). Frames and bytes are counted per receiving
/// agent, as they would be read off its sockets.
struct SimulatedCluster {
    /// Something arriving at a node at a virtual time.
    enum Arrival {
        /// The node's agent process is running (its parent started it).
        case live
        /// A link to `peer` is up (the commonest event: both ends of every binomial-graph link; not boxed).
        case linkUp(peer: Int)
        /// An event for the agent's machine (a link up or down, a failed dial, a frame decoded by `deliver`).
        /// Boxed: an event is hundreds of bytes (its largest cases), copied several times on its way through
        /// the queue's slots, where a box is a pointer.
        indirect case event(AgentEvent)
        /// A frame from a neighbour.
        case frame(Delivery)
        /// The shell's periodic tick.
        case tick
    }

    /// A frame and the rank it comes from: one struct, not a tuple payload, which was copied through the
    /// runtime's generic tuple witness (2 % of the time) each time the arrival was matched.
    struct Delivery {
        var frame: Frame
        var from: Int
    }

    /// A queue entry: small, so that moving millions stays cheap; the arrival waits in `slots`. The time is
    /// kept as its attoseconds (`Int128`: ordered as the `Duration`, compared with plain integer instructions;
    /// `Duration`'s comparison was a call into the runtime library, and splitting it into whole seconds and
    /// attoseconds a 128-bit division per scheduled event).
    struct Scheduled: Comparable {
        var attoseconds: Int128
        var order: Int
        var rank: Int32
        var slot: Int32

        init(time: Duration, order: Int, rank: Int32, slot: Int32) {
            attoseconds = time.attoseconds
            self.order = order
            self.rank = rank
            self.slot = slot
        }

        var time: Duration { Duration(attoseconds: attoseconds) }

        static func < (a: Scheduled, b: Scheduled) -> Bool { (a.attoseconds, a.order) < (b.attoseconds, b.order) }
        static func == (a: Scheduled, b: Scheduled) -> Bool { (a.attoseconds, a.order) == (b.attoseconds, b.order) }
    }

    /// A node's agent process.
    enum Health: UInt8 { case up, killed, hung, exited }

    /// A node's state besides its machine, in 64 bytes (one or two cache lines: the array aligns it to 16).
    struct Node {
        /// When the node is done with the events it has taken.
        var freeAt: Duration = .zero
        /// Virtual time it spent working.
        var busy: Duration = .zero
        /// Bytes its agent received (headers and MACs included), and those of heartbeats (pings and pongs).
        var bytesIn = 0
        var heartbeatBytesIn = 0
        /// Frames its agent received, and heartbeat frames.
        var framesIn: Int32 = 0
        var heartbeatFramesIn: Int32 = 0
        /// Its agent's process (index into ``processRoots``, ``BootstrapModel/agentsPerProcess``).
        var process: Int32
        var health = Health.up
        /// Whether its machine is built.
        var built = false
    }

    let model: BootstrapModel
    let cpu: BootstrapCPU
    let tree: BootTree
    let heartbeat: Duration?
    /// The shell's tick interval (heartbeat runs only).
    let tickInterval: Duration?
    /// Each agent's staging window (chunks in flight per child).
    let stagingWindow: Int
    /// Each rank's machine, stored without an optional so that `machines[rank].handle` runs in place in the
    /// array's storage (a force-unwrapped optional element was moved out and back, hundreds of bytes, and its
    /// tag tested through an outlined call on every event). Ranks not built yet hold a copy of a stand-in
    /// (the controller's machine before its start, sharing its storage): read them through ``machine(_:)``.
    var machines: [AgentMachine]
    /// Each rank's node: what every event of it reads and writes, side by side (an array per field was a
    /// cache miss per field on every event, at 100,000 nodes).
    var nodes: [Node]
    /// When each node's network interface has sent the file chunks queued on it: they leave one after another,
    /// each taking its size over the bandwidth (a node feeding k children sends each chunk k times).
    var egressFreeAt: [Duration]
    /// With a shared host (``BootstrapModel/hostCores``): when each core is next free, and when each thread
    /// of each process is (``BootstrapModel/threadsPerProcess``).
    var coreFreeAt: [Duration]
    var threadFreeAt: [[Duration]] = []
    /// The processes' hosted ranks and child processes' roots (``BootstrapModel/agentsPerProcess``).
    let processRoots: [[Int]]
    var processStarted: [Bool]
    /// Process pairs joined by a trunk (a TCP connection shared by their agents' links).
    var trunks: Set<Int> = []
    var queue = EventQueue()
    /// The frames of the event being processed, encoded (kept between events for its capacity).
    var encoded: [Frame?] = []
    var slots: [Arrival?] = []
    var freeSlots: [Int32] = []
    var order = 0
    /// Time of the event being (or last) processed.
    var now: Duration = .zero
    var wired: Duration?
    var frames = 0
    var bytes = 0
    /// Message ends charged ``BootstrapModel/localMessageCPU`` (in a process) and frame ends charged
    /// ``BootstrapModel/frameCPU`` (on a trunk or a connection of their own; a link's handshake counts two).
    var localMessageEnds = 0
    var trunkFrameEnds = 0
    /// Agent processes started (the front-end's not counted).
    var processesStarted = 0
    var exits: [String] = []
    /// The controller's failure verdicts: rank → when.
    var declared: [Int: Duration] = [:]
    /// Reports the controller received (task exits).
    var reports: Set<Int> = []
    var random: SplitMix64
    /// Events processed so far.
    var events = 0
    /// File staging on the modelled nodes' disks (``StagingSimulation``), when one runs, and the nodes whose
    /// report the controller has.
    var staging: SimulatedStaging?
    var stagedReports = 0

    /// Ranks failed on purpose, and how many of them the controller has declared.
    var victims: Set<Int> = []
    var declaredVictims = 0

    /// A cluster of `nodes` agents plus the controller; `heartbeat` arms their detector at launch; `ticks`
    /// sends them the shell's ticks (deadlines, the detector) as `AgentHost` would.
    init(nodes: Int, fanout: Int, model: BootstrapModel, cpu: BootstrapCPU, heartbeat: Duration? = nil, ticks: Bool = false,
         seed: UInt64 = 1, stagingWindow: Int = 8) throws {
        self.model = model
        self.stagingWindow = stagingWindow
        self.cpu = cpu
        self.heartbeat = heartbeat
        tickInterval = ticks || heartbeat != nil
            ? AgentHost.tickInterval(heartbeatMilliseconds: heartbeat.map { Int($0.milliseconds) } ?? 0) : nil
        let ranks = nodes + 1
        rankCount = ranks
        tree = try BootTree(kind: .tree(arity: fanout), nodeCount: ranks)
        machines = []
        egressFreeAt = Array(repeating: .zero, count: ranks)
        random = SplitMix64(seed: seed)
        coreFreeAt = Array(repeating: .zero, count: max(0, model.hostCores ?? 0))
        if model.agentsPerProcess > 1 {
            let boot = tree
            let processes = ChunkPlan.processes(tree: boot, agentsPerProcess: model.agentsPerProcess)
            var processOf = Array(repeating: Int32(0), count: ranks)
            var roots: [[Int]] = []
            for (index, hosted) in processes.enumerated() {
                for rank in hosted { processOf[rank] = Int32(index) }
                // The process's roots: hosted ranks whose parent is elsewhere.
                let members = Set(hosted)
                roots.append(hosted.filter { rank in boot.parent(of: rank).map { !members.contains($0) } ?? true })
            }
            self.nodes = processOf.map { Node(process: $0) }
            processRoots = roots
        } else {
            self.nodes = (0..<ranks).map { Node(process: Int32($0)) }
            processRoots = (0..<ranks).map { [$0] }
        }
        if let threads = model.threadsPerProcess, model.hostCores != nil {
            threadFreeAt = Array(repeating: Array(repeating: .zero, count: max(1, threads)), count: processRoots.count)
        }
        var started = Array(repeating: false, count: processRoots.count)
        started[0] = true  // the front-end's, with the controller alone
        processStarted = started
        machines = Array(repeating: try AgentMachine(configuration: configuration(0)), count: ranks)
        schedule(.live, at: 0, time: .zero)
    }

    /// `rank`'s machine once built.
    func machine(_ rank: Int) -> AgentMachine? { nodes[rank].built ? machines[rank] : nil }

    /// Whether two ranks' agents share a process.
    func sameProcess(_ a: Int, _ b: Int) -> Bool { nodes[a].process == nodes[b].process }

    /// Each rank's process, and what each node received and worked (for figures: a new array per call).
    var processOf: [Int32] { nodes.map(\.process) }
    var framesIn: [Int32] { nodes.map(\.framesIn) }
    var bytesIn: [Int] { nodes.map(\.bytesIn) }
    var heartbeatFramesIn: [Int32] { nodes.map(\.heartbeatFramesIn) }
    var heartbeatBytesIn: [Int] { nodes.map(\.heartbeatBytesIn) }
    var busy: [Duration] { nodes.map(\.busy) }

    /// Ranks: the controller and the nodes.
    let rankCount: Int

    func endpoint(_ rank: Int) -> AgentEndpoint {
        AgentEndpoint(rank: rank, host: "node\(rank)", port: 7000, pid: Int32(rank + 1))
    }

    func configuration(_ rank: Int) -> AgentMachine.Configuration {
        var configuration = AgentMachine.Configuration(
            endpoint: endpoint(rank), rankCount: rankCount, tree: tree, handshakeWindow: .seconds(3600),
            heartbeatPeriod: heartbeat, parent: tree.parent(of: rank).map(endpoint))
        if tickInterval != nil { configuration.handshakeWindow = .seconds(10) }  // as vhpc run's default
        configuration.stagingWindow = stagingWindow
        return configuration
    }

    mutating func schedule(_ arrival: Arrival, at rank: Int, time: Duration) {
        order += 1
        let slot: Int32
        if let free = freeSlots.popLast() {
            slot = free
            slots[Int(free)] = arrival
        } else {
            slot = Int32(slots.count)
            slots.append(arrival)
        }
        queue.insert(Scheduled(time: time, order: order, rank: Int32(rank), slot: slot))
    }

    /// When a run stops early.
    enum Goal {
        case none
        /// The controller has every agent wired.
        case wired
        /// The controller has declared every victim.
        case declared
        /// The controller has every node's staging report.
        case staged
        /// The controller has this many nodes' task-exit reports.
        case reports(Int)
    }

    /// Runs events until `goal` is met or nothing is left before `deadline`.
    mutating func run(until deadline: Duration = .seconds(1_000_000), goal: Goal = .none) {
        while !isMet(goal), let next = queue.removeMin(notAfter: deadline) {
            let arrival = slots[Int(next.slot)].take()!
            freeSlots.append(next.slot)
            events += 1
            if let likely = queue.likelyNext { prefetch(likely) }
            process(arrival, at: Int(next.rank), time: next.time)
        }
    }

    /// Starts bringing the node record and machine of `next`'s rank, and its arrival, into the caches (its event
    /// comes next).
    func prefetch(_ next: Scheduled) {
        let rank = Int(next.rank)
        nodes.withUnsafeBufferPointer { vhpc_prefetch($0.baseAddress! + rank, UInt(MemoryLayout<Node>.stride)) }
        machines.withUnsafeBufferPointer { vhpc_prefetch($0.baseAddress! + rank, UInt(MemoryLayout<AgentMachine>.stride)) }
        slots.withUnsafeBufferPointer { vhpc_prefetch($0.baseAddress! + Int(next.slot), UInt(MemoryLayout<Arrival?>.stride)) }
    }

    /// Whether `goal` is met. A method reading the fields in place: a nested function taking the cluster as
    /// an argument copied the whole struct (and retained its every array) once per event.
    func isMet(_ goal: Goal) -> Bool {
        switch goal {
        case .none: return false
        case .wired: return wired != nil
        case .declared: return declaredVictims >= victims.count
        case .staged: return stagedReports >= rankCount - 1
        case .reports(let count): return reports.count >= count
        }
    }

    /// Runs `work`, returning its result and the CPU it is charged: measured, or the fixed figure.
    static func charge<T>(_ cpu: BootstrapCPU, _ work: () throws -> T) rethrows -> (T, Duration) {
        switch cpu {
        case .fixed(let perEvent): return (try work(), perEvent)
        case .measured:
            let before = threadCPUTime()
            let result = try work()
            return (result, max(.zero, threadCPUTime() - before))
        }
    }

    /// Consecutive measurements of this thread's CPU: each ``next()`` is the CPU since the one before (or since
    /// the lap began); with a fixed figure, that figure each time.
    struct CPULap {
        let cpu: BootstrapCPU
        var last: Duration

        init(_ cpu: BootstrapCPU) {
            self.cpu = cpu
            last = cpu == .measured ? SimulatedCluster.threadCPUTime() : .zero
        }

        mutating func next() -> Duration {
            switch cpu {
            case .fixed(let perEvent): return perEvent
            case .measured:
                let now = SimulatedCluster.threadCPUTime()
                defer { last = now }
                return max(.zero, now - last)  // a counter reading a few ns ahead of the next system-call one
            }
        }
    }

    /// CPU time of the calling thread: what the work cost, without the time the host gave other processes
    /// (a wall clock would charge an event with every preemption on a busy machine). Read off the time-stamp
    /// counter while the thread has not been switched (`vhpc_thread_cpu_ns`): two readings per event as a
    /// system call were a tenth of the simulator's time.
    static func threadCPUTime() -> Duration {
        .nanoseconds(Int64(bitPattern: vhpc_thread_cpu_ns()))
    }

    mutating func process(_ arrival: Arrival, at rank: Int, time: Duration) {
        guard nodes[rank].health == .up else { return }
        var now = max(time, nodes[rank].freeAt)
        var core: Int?
        var thread: Int?
        if !threadFreeAt.isEmpty {
            // The event waits for a thread of its process first, then for a core.
            let threads = threadFreeAt[Int(nodes[rank].process)]
            let free = threads.indices.min { threads[$0] < threads[$1] }!
            thread = free
            now = max(now, threads[free])
        }
        if !coreFreeAt.isEmpty {
            // One host: the event also waits for the first core free.
            let free = coreFreeAt.indices.min { coreFreeAt[$0] < coreFreeAt[$1] }!
            core = free
            now = max(now, coreFreeAt[free])
        }
        self.now = now
        let started = now
        var event: AgentEvent = .tick
        switch arrival {
        case .live:
            let configuration = configuration(rank)
            let (machine, cost) = Self.charge(cpu) { try? AgentMachine(configuration: configuration) }
            guard let machine else { exits.append("rank \(rank): machine could not be built"); return }
            machines[rank] = machine
            nodes[rank].built = true
            now += cpuTime(cost)
            for child in tree.children(of: rank) {
                if sameProcess(child, rank) {
                    schedule(.live, at: child, time: now)  // hosted by the same process: starts with it
                    continue
                }
                let process = Int(nodes[child].process)
                guard !processStarted[process] else { continue }
                processStarted[process] = true
                processesStarted += 1
                now += cpuTime(model.spawnCPU)
                let running = startProcess(at: now)
                for root in processRoots[process] { schedule(.live, at: root, time: running) }
            }
            if let tickInterval {
                // Ticks of different agents are not in step (each started at its own time).
                schedule(.tick, at: rank, time: now + tickInterval * (Double(random.next() % 1000) / 1000))
            }
            event = .start
        case .linkUp(let peer):
            if !sameProcess(rank, peer) {
                now += cpuTime(model.frameCPU.times(2))  // the handshake frames this end received
                trunkFrameEnds += 2
            }
            event = .linkUp(rank: peer)
        case .event(let agentEvent):
            event = agentEvent
        case .frame(let delivery):
            let frame = delivery.frame
            if sameProcess(rank, delivery.from) {
                now += cpuTime(model.localMessageCPU)
                localMessageEnds += 1
            } else {
                now = now.adding(cpuTime(model.frameCPU))
                trunkFrameEnds += 1
            }
            let size = Self.wireSize(frame, scale: staging?.scale ?? 1)
            nodes[rank].framesIn += 1
            nodes[rank].bytesIn += size
            if frame.kind == .ping || frame.kind == .pong { nodes[rank].heartbeatFramesIn += 1; nodes[rank].heartbeatBytesIn += size }
            if frame.kind == .fileChunk, let hashing = staging?.hashTime(frame) { now += cpuTime(hashing) }  // the chunk's SHA-256 check
        case .tick:
            if let tickInterval { schedule(.tick, at: rank, time: time + tickInterval) }
            event = .tick
        }
        guard nodes[rank].built else { return }
        // One CPU measurement for decoding, handling and encoding what goes out: two clock reads (each a
        // system call, the simulator's largest single cost; a third one to split off the encoding cost 4 % of
        // the time). The frames leave once all are encoded.
        // In place: a copy of the machine would retain its every field, and make its collections copy on write.
        var lap = CPULap(cpu)
        let directives: [AgentDirective]
        if case .frame(let delivery) = arrival {
            // Decoded here, its CPU measured with the machine's.
            let peer = delivery.from
            guard let message = try? MessageCodec.message(from: delivery.frame) else {
                now += cpuTime(lap.next())
                exits.append("rank \(rank): undecodable frame from \(peer)")
                return
            }
            if case .ping(let heartbeat) = message {
                // The shell answers a ping itself, straight from the connection's reader (`TrunkHandler`,
                // `LocalLink`): the agent's machine never sees it, and a busy agent loop still answers.
                directives = [.send(.pong(heartbeat), to: peer)]
            } else {
                directives = machines[rank].handle(.message(message, from: peer), now: now)
            }
        } else {
            directives = machines[rank].handle(event, now: now)
        }
        // Into the kept buffer: an array allocated and freed per event otherwise.
        var frames = encoded
        encoded = []
        frames.removeAll(keepingCapacity: true)
        for directive in directives {
            if case .send(let message, _) = directive { frames.append(MessageCodec.frame(message)) } else { frames.append(nil) }
        }
        now = now.adding(cpuTime(lap.next()))
        for index in directives.indices {
            now = perform(directives[index], frame: frames[index], from: rank, now: now)
        }
        frames.removeAll(keepingCapacity: true)
        encoded = frames
        nodes[rank].freeAt = now
        if let core { coreFreeAt[core] = max(coreFreeAt[core], now) }  // a process start may have taken it on
        if let thread { threadFreeAt[Int(nodes[rank].process)][thread] = now }
        nodes[rank].busy = nodes[rank].busy.adding(model.cpuShare == 1 ? now - started : (now - started) * model.cpuShare)  // every advance above was CPU
    }

    /// The time `bytes` take through an interface at the model's bandwidth.
    func transferTime(bytes: Int) -> Duration {
        guard model.bandwidth.isFinite else { return .zero }
        return .fromSeconds(Double(bytes) / model.bandwidth)
    }

    /// The time `cpu` of work takes on a core of which the job gets ``BootstrapModel/cpuShare``.
    func cpuTime(_ cpu: Duration) -> Duration { model.cpuShare == 1 ? cpu : cpu / model.cpuShare }

    /// When a process spawned at `time` has its agents running: after the spawn latency and, on one host
    /// (``BootstrapModel/hostCores``), once the first core free has run its start (the spawning event's own
    /// core is free from `time` on: its recorded end is still its start, at most `time`).
    mutating func startProcess(at time: Duration) -> Duration {
        let running = time + model.spawnLatency
        guard !coreFreeAt.isEmpty, model.processStartCPU > .zero else { return running }
        let core = coreFreeAt.indices.min { coreFreeAt[$0] < coreFreeAt[$1] }!
        coreFreeAt[core] = max(time, coreFreeAt[core]) + cpuTime(model.processStartCPU)
        return max(running, coreFreeAt[core])
    }

    /// Carries out one directive of `rank` at `now` (a send's frame already encoded, its CPU charged with the
    /// event's); returns when its node is done with it. The frame comes as a plain optional: an optional tuple
    /// with its cost was copied through the runtime's generic tuple witness, 2.5 % of an event.
    mutating func perform(_ directive: AgentDirective, frame encoded: Frame?, from rank: Int, now: Duration) -> Duration {
        var now = now
        switch directive {
        case .dial(let peer, _, _):
            switch nodes[peer].health {
            case .up where nodes[peer].built && sameProcess(rank, peer):
                schedule(.linkUp(peer: rank), at: peer, time: now)
                schedule(.linkUp(peer: peer), at: rank, time: now)
            case .up where nodes[peer].built:
                // A new trunk costs TCP's and the handshake's trips; a link on an existing one, an open and its ack.
                let (from, to) = (nodes[rank].process, nodes[peer].process)
                let pair = Int(min(from, to)) * processRoots.count + Int(max(from, to))
                let trips = model.agentsPerProcess > 1 && !trunks.insert(pair).inserted ? 1 : model.acceptTrips
                schedule(.linkUp(peer: rank), at: peer, time: now.adding(model.linkLatency.times(trips)))
                schedule(.linkUp(peer: peer), at: rank, time: now.adding(model.linkLatency.times(trips + 1)))
            case .hung:
                let window = nodes[rank].built ? machines[rank].configuration.handshakeWindow : .seconds(10)
                schedule(.event(.dialFailed(rank: peer, detail: "handshake timed out")), at: rank, time: now + window)
            default:
                schedule(.event(.dialFailed(rank: peer, detail: "connection refused")), at: rank, time: now.adding(model.linkLatency.times(2)))
            }
        case .send(_, let peer):
            guard let frame = encoded else { break }
            let size = Self.wireSize(frame, scale: staging?.scale ?? 1)
            frames += 1
            bytes += size
            if sameProcess(rank, peer) {
                // Handed over in memory: no socket, no MAC, no wire.
                now += cpuTime(model.localMessageCPU)
                localMessageEnds += 1
                schedule(.frame(Delivery(frame: frame, from: rank)), at: peer, time: now)
                break
            }
            now = now.adding(cpuTime(model.frameCPU))
            trunkFrameEnds += 1
            let transfer = transferTime(bytes: size)
            // File chunks go out one after another through the node's interface; a small frame (an ack, a
            // report) is interleaved between their packets on its own connection, not queued behind them.
            var sent = now.adding(transfer)
            if frame.kind == .fileChunk {
                sent = max(now, egressFreeAt[rank]).adding(transfer)
                egressFreeAt[rank] = sent
            }
            schedule(.frame(Delivery(frame: frame, from: rank)), at: peer, time: sent.adding(model.linkLatency))
        case .closeLink(let peer):
            schedule(.event(.linkDown(rank: rank)), at: peer, time: now + model.linkLatency)
        case .bootstrapped:
            if rank == 0 { wired = now }
        case .exit(let reason, let failed):
            if failed { exits.append("rank \(rank): \(reason)") }
            nodes[rank].health = .exited
        case .failure(let notice):
            if declared[notice.rank] == nil {
                declared[notice.rank] = now
                if victims.contains(notice.rank) { declaredVictims += 1 }
            }
        case .report(let payload):
            if case .taskExited(let node, _, _, _, _) = payload { reports.insert(node) }
        case .stagingIO(let io):
            performStagingIO(io, at: rank, now: now)
        case .stagingReport(let report):
            if staging?.reports.updateValue((report.outcome, now), forKey: report.node) == nil, staging != nil { stagedReports += 1 }
        default:
            break
        }
        return now
    }

    /// Bytes of `frame` on the wire, header and MAC included; a file chunk of a scaled staging run counts
    /// the bytes its stand-in data stands for (``SimulatedStaging/scale``).
    /// (Static: a method on the cluster copied the whole struct, 800 bytes, on every call.)
    static func wireSize(_ frame: Frame, scale: Int) -> Int {
        let size = FrameHeader.byteCount + frame.payload.readableBytes + FrameMAC.byteCount
        guard frame.kind == .fileChunk, scale > 1 else { return size }
        return size + (frame.payload.readableBytes - FileChunk.authenticatedPrefixLength) * (scale - 1)
    }

    /// Kills `rank`'s agent now: its links close at their other ends, its parent's SIGCHLD fires.
    mutating func kill(_ rank: Int) {
        guard nodes[rank].health == .up else { return }
        nodes[rank].health = .killed
        victims.insert(rank)
        for peer in nodes[rank].built ? machines[rank].links : [] {
            schedule(.event(.linkDown(rank: rank)), at: peer, time: now + model.linkLatency)
        }
        if let parent = tree.parent(of: rank) {
            schedule(.event(.childExited(rank: rank, status: 137)), at: parent, time: now + model.linkLatency)
        }
    }

    /// Hangs `rank`'s agent now (SIGSTOP): it handles nothing more, its links stay open.
    mutating func hang(_ rank: Int) {
        guard nodes[rank].health == .up else { return }
        nodes[rank].health = .hung
        victims.insert(rank)
    }

    /// Has the controller flood a launch (arming every agent's heartbeat detector) at `time`.
    mutating func launch(at time: Duration) {
        schedule(.event(.broadcast(.launch(LaunchCommand(id: 1, executable: "true")))), at: 0, time: time)
    }

    /// `count` distinct random ranks among the nodes (never the controller).
    mutating func randomRanks(_ count: Int) -> [Int] {
        var chosen = Set<Int>()
        while chosen.count < min(count, rankCount - 1) { chosen.insert(1 + Int(random.next() % UInt64(rankCount - 1))) }
        return chosen.sorted()
    }

    /// Received frames and bytes per agent of `ranks` (all nodes when nil), from `frames`/`bytes` counters.
    static func traffic(frames: [Int32], bytes: [Int], ranks: [Int]) -> SimulatedTraffic {
        guard !ranks.isEmpty else { return SimulatedTraffic() }
        var result = SimulatedTraffic()
        var totalFrames = 0
        var totalBytes = 0
        for rank in ranks {
            totalFrames += Int(frames[rank])
            totalBytes += bytes[rank]
            if Int(frames[rank]) > result.maxFrames { result.maxFrames = Int(frames[rank]); result.busiestRank = rank }
            result.maxBytes = max(result.maxBytes, bytes[rank])
        }
        result.meanFrames = Double(totalFrames) / Double(ranks.count)
        result.meanBytes = Double(totalBytes) / Double(ranks.count)
        return result
    }
}

/// Frames and bytes received per agent in a simulation: mean and largest over the agents counted.
public struct SimulatedTraffic: Sendable, Hashable {
    public var meanFrames: Double = 0
    public var maxFrames = 0
    public var meanBytes: Double = 0
    public var maxBytes = 0
    /// The agent that received the most frames.
    public var busiestRank = 0
}

extension Duration {
    /// `self + other` in `Int128` instructions: `Duration`'s `+` calls the standard library's software 128-bit
    /// addition (2 % of the simulator's time, on every event's few additions).
    @inline(__always) func adding(_ other: Duration) -> Duration { Duration(attoseconds: attoseconds &+ other.attoseconds) }

    /// `self × count` in `Int128` instructions (overflow traps, as `Duration`'s does): `Duration`'s `*` by an
    /// integer is generic (the runtime's witnesses and a checked conversion to `Int128` on every call).
    @inline(__always) func times(_ count: Int) -> Duration { Duration(attoseconds: attoseconds * Int128(count)) }

    /// `seconds` (not negative) to the attosecond below, as `Duration.seconds(_: Double)` gives it but without
    /// its generic conversion (about 1 % of `detect-model`'s time in perf: one per frame sent, for its
    /// transfer time).
    static func fromSeconds(_ seconds: Double) -> Duration {
        guard seconds < 9 else { return .seconds(seconds) }  // beyond Int64's attoseconds
        return Duration(attoseconds: Int128(Int64(seconds * 1e18)))
    }
}
