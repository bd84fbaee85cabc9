import HeapModule
import Topology
import Wire

/// Scale simulation of a job's bootstrap (never used by `vhpc run`): the job's real ``AgentMachine``s, one per
/// node of a modelled cluster (``BootstrapModel``), driven by a discrete-event loop on a virtual clock.
///
/// What one host cannot show: with an agent per node, every agent has a core of its own, so the bootstrap
/// takes as long as its critical path — spawn down the tree, subtree reports up, the address table down, BMG
/// links, wired counts up — and not as long as all agents' work added up. Each node runs its events one at a
/// time: an event starts when it has arrived and the node is free, and takes the CPU this machine spends in
/// `AgentMachine.init`/`handle` and in encoding and decoding the frames (``BootstrapCPU/measured``), plus the
/// model's costs outside the protocol logic.
public enum BootstrapSimulation {
    /// How a simulated bootstrap went.
    public struct Outcome: Sendable {
        /// Virtual time from the controller's start until it had every agent up and BMG-wired.
        public var wired: Duration?
        /// Height of the boot tree.
        public var treeHeight: Int
        /// Frames sent (handshakes not counted) and their bytes, headers and MACs included.
        public var frames: Int
        public var bytes: Int
        /// CPU of the busiest node and of all nodes together (virtual time spent working).
        public var busiestNodeCPU: Duration
        public var totalCPU: Duration
        /// Ranks that did not reach the running phase, and why agents exited, if any did.
        public var notRunning: [Int]
        public var exits: [String]
    }

    /// Simulates the bootstrap of `nodes` agents (plus the controller) on a `fanout`-ary boot tree.
    public static func run(nodes: Int, fanout: Int, model: BootstrapModel, cpu: BootstrapCPU) throws -> Outcome {
        var simulation = try Run(nodes: nodes, fanout: fanout, model: model, cpu: cpu)
        return simulation.finish()
    }
}

extension BootstrapSimulation {
    /// Something arriving at a node at a virtual time.
    fileprivate enum Arrival {
        /// The node's agent process is running (its parent started it).
        case live
        /// A link finished its handshake at this end.
        case linkUp(Int)
        /// A frame from a neighbour.
        case frame(Frame, from: Int)
    }

    fileprivate struct Scheduled: Comparable {
        var time: Duration
        var order: Int
        var rank: Int
        var arrival: Arrival

        static func < (a: Scheduled, b: Scheduled) -> Bool { (a.time, a.order) < (b.time, b.order) }
        static func == (a: Scheduled, b: Scheduled) -> Bool { (a.time, a.order) == (b.time, b.order) }
    }

    fileprivate struct Run {
        let model: BootstrapModel
        let cpu: BootstrapCPU
        let tree: BootTree
        let configurations: [AgentMachine.Configuration]
        var machines: [AgentMachine?]
        var freeAt: [Duration]
        var busy: [Duration]
        var queue = Heap<Scheduled>()
        var order = 0
        var wired: Duration?
        var frames = 0
        var bytes = 0
        var exits: [String] = []
        let clock = ContinuousClock()

        init(nodes: Int, fanout: Int, model: BootstrapModel, cpu: BootstrapCPU) throws {
            self.model = model
            self.cpu = cpu
            let ranks = nodes + 1
            tree = try BootTree(kind: .tree(arity: fanout), nodeCount: ranks)
            let endpoints = (0..<ranks).map { AgentEndpoint(rank: $0, host: "node\($0)", port: 7000, pid: Int32($0 + 1)) }
            configurations = (0..<ranks).map { [tree] rank in
                AgentMachine.Configuration(
                    endpoint: endpoints[rank], rankCount: ranks, tree: tree, handshakeWindow: .seconds(3600),
                    heartbeatPeriod: nil, parent: tree.parent(of: rank).map { endpoints[$0] })
            }
            machines = Array(repeating: nil, count: ranks)
            freeAt = Array(repeating: .zero, count: ranks)
            busy = Array(repeating: .zero, count: ranks)
            schedule(.live, at: 0, time: .zero)
        }

        mutating func finish() -> Outcome {
            while wired == nil, let next = queue.popMin() { process(next) }
            let notRunning = machines.indices.filter { machines[$0]?.phase != .running }
            return Outcome(
                wired: wired, treeHeight: tree.height, frames: frames, bytes: bytes,
                busiestNodeCPU: busy.max() ?? .zero, totalCPU: busy.reduce(.zero, +), notRunning: notRunning, exits: exits)
        }

        mutating func schedule(_ arrival: Arrival, at rank: Int, time: Duration) {
            order += 1
            queue.insert(Scheduled(time: time, order: order, rank: rank, arrival: arrival))
        }

        /// Runs `work`, returning its result and the CPU it is charged: measured, or the fixed figure.
        func charge<T>(_ work: () throws -> T) rethrows -> (T, Duration) {
            switch cpu {
            case .fixed(let perEvent): return (try work(), perEvent)
            case .measured:
                var result: T?
                let elapsed = try clock.measure { result = try work() }
                return (result!, elapsed)
            }
        }

        mutating func process(_ next: Scheduled) {
            let rank = next.rank
            var now = max(next.time, freeAt[rank])
            let started = now
            let event: AgentEvent
            switch next.arrival {
            case .live:
                let configuration = configurations[rank]
                let (machine, cost) = charge { try? AgentMachine(configuration: configuration) }
                guard let machine else { exits.append("rank \(rank): machine could not be built"); return }
                machines[rank] = machine
                now += cost
                for child in tree.children(of: rank) {
                    now += model.spawnCPU
                    schedule(.live, at: child, time: now + model.spawnLatency)
                }
                event = .start
            case .linkUp(let peer):
                now += model.frameCPU * 2  // the handshake frames this end received
                event = .linkUp(rank: peer)
            case .frame(let frame, let peer):
                let (message, cost) = charge { try? MessageCodec.message(from: frame) }
                now += cost + model.frameCPU
                guard let message else { exits.append("rank \(rank): undecodable frame from \(peer)"); return }
                event = .message(message, from: peer)
            }
            guard var machine = machines[rank] else { return }
            let (directives, cost) = charge { machine.handle(event, now: now) }
            machines[rank] = machine
            now += cost
            for directive in directives { now = perform(directive, from: rank, now: now) }
            freeAt[rank] = now
            busy[rank] += now - started
        }

        /// Carries out one directive of `rank` at `now`; returns when its node is done with it.
        mutating func perform(_ directive: AgentDirective, from rank: Int, now: Duration) -> Duration {
            var now = now
            switch directive {
            case .dial(let peer, _, _):
                schedule(.linkUp(rank), at: peer, time: now + model.linkLatency * model.acceptTrips)
                schedule(.linkUp(peer), at: rank, time: now + model.linkLatency * (model.acceptTrips + 1))
            case .send(let message, let peer):
                let (frame, cost) = charge { MessageCodec.frame(message) }
                now += cost + model.frameCPU
                let size = FrameHeader.byteCount + frame.payload.readableBytes + FrameMAC.byteCount
                frames += 1
                bytes += size
                let transfer = model.bandwidth.isFinite ? Duration.seconds(Double(size) / model.bandwidth) : .zero
                schedule(.frame(frame, from: rank), at: peer, time: now + model.linkLatency + transfer)
            case .bootstrapped:
                if rank == 0 { wired = now }
            case .exit(let reason, _):
                exits.append("rank \(rank): \(reason)")
            case .failure(let notice):
                exits.append("rank \(notice.rank) reported failed: \(notice.detail)")
            default:
                break
            }
            return now
        }
    }
}
