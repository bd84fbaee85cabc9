import Topology
import Wire

/// Scale simulation of a job's bootstrap (never used by `vhpc run`): the job's real ``AgentMachine``s, one per
/// node of a modelled cluster (``BootstrapModel``, ``SimulatedCluster``), driven by a discrete-event loop on a
/// virtual clock.
///
/// What one host cannot show: with an agent per node, every agent has a core of its own, so the bootstrap
/// takes as long as its critical path — spawn down the tree, subtree reports up, the go to wire down, BMG
/// endpoints learnt from neighbours and links dialled, wired counts up — and not as long as all agents' work
/// added up.
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
        /// Frames and bytes each node's agent received (the controller not counted), and the controller's.
        public var received: SimulatedTraffic
        public var controllerFrames: Int
        public var controllerBytes: Int
        /// What the model's per-message costs were charged for: message ends inside a process
        /// (``BootstrapModel/localMessageCPU``), frame ends between processes (``BootstrapModel/frameCPU``),
        /// and agent processes started (``BootstrapModel/spawnCPU``, ``BootstrapModel/processStartCPU``).
        public var localMessageEnds: Int
        public var trunkFrameEnds: Int
        public var processesStarted: Int
    }

    /// Simulates the bootstrap of `nodes` agents (plus the controller) on a `fanout`-ary boot tree.
    public static func run(nodes: Int, fanout: Int, model: BootstrapModel, cpu: BootstrapCPU) throws -> Outcome {
        var cluster = try SimulatedCluster(nodes: nodes, fanout: fanout, model: model, cpu: cpu)
        cluster.run(goal: .wired)
        return outcome(of: cluster)
    }

    /// The bootstrap figures of `cluster` as it stands.
    static func outcome(of cluster: SimulatedCluster) -> Outcome {
        let notRunning = cluster.machines.indices.filter { cluster.machine($0)?.phase != .running }
        return Outcome(
            wired: cluster.wired, treeHeight: cluster.tree.height, frames: cluster.frames, bytes: cluster.bytes,
            busiestNodeCPU: cluster.busy.max() ?? .zero, totalCPU: cluster.busy.reduce(.zero, +), notRunning: notRunning,
            exits: cluster.exits,
            received: SimulatedCluster.traffic(frames: cluster.framesIn, bytes: cluster.bytesIn, ranks: Array(1..<cluster.rankCount)),
            controllerFrames: Int(cluster.nodes[0].framesIn), controllerBytes: cluster.nodes[0].bytesIn,
            localMessageEnds: cluster.localMessageEnds, trunkFrameEnds: cluster.trunkFrameEnds, processesStarted: cluster.processesStarted)
    }
}

