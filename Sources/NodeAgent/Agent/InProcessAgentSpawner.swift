import Control
import Foundation
import HostProcess
import Launch
import Logging
import Synchronization
import Topology

/// Hosts a local job's agents in the front-end's own process instead of starting `vhpc-agent`: every "node"
/// of a local job is this machine, and when one agent process would host them all (one node, or 16 and more
/// packed 256 to a process) a second Swift process only costs its start and its exit (~10 ms of CPU and
/// 20 ms of wall time each here). The agents are the same ``AgentHost`` with the same task backends; they
/// still reach the controller over a loopback link with the Wire handshake, and their tasks are the
/// front-end's children (each in a session of its own, parent-death signal SIGKILL), so they end with it.
///
/// Jobs of 2-15 nodes keep a process per node (as on a cluster: an agent can fail alone, and the fault tests
/// kill one), and jobs in VMs keep theirs (QEMU and its guests stay out of the front-end).
public struct InProcessAgentSpawner: AgentSpawner {
    /// Chunks below the first one (jobs beyond one process's agents) start as processes, as before.
    let children = CountingSpawner(LauncherAgentSpawner(launcher: LocalLauncher()))
    private let running = Running()

    public init() {}

    /// Whether one agent process would host every agent of a job (the front-end's first level is one chunk):
    /// then it can be this one.
    public static func hostsWholeFirstLevel(nodeCount: Int, fanout: Int, agentsPerProcess: Int) -> Bool {
        guard let tree = try? BootTree(kind: .tree(arity: fanout), nodeCount: nodeCount + 1) else { return false }
        return ChunkPlan(tree: tree, roots: [0], capacity: 1, childCapacity: agentsPerProcess).childGroups.count == 1
    }

    public func spawnAgent(host: String, configuration: AgentProcessConfiguration) async throws -> SpawnedAgent {
        var logger = Logger(label: "vhpc.agent")
        logger.logLevel = Logger.Level(rawValue: configuration.logLevel) ?? .warning
        logger[metadataKey: "job.id"] = "\(configuration.jobID)"
        let agents = NodeAgentProcess.host(configuration: configuration, spawner: children, logger: logger)
        let run = Task {
            do {
                return try await agents.run()
            } catch {
                // What the agent process would have printed before exiting 1; the controller then sees its
                // agents fail their handshake, as for a process that died.
                logger.error("agent: \(error)")
                return Int32(1)
            }
        }
        running.add(run)
        return SpawnedAgent(pid: getpid(), waitForExit: { await run.value }, signal: { _ in })
    }

    /// Waits (up to the grace period) for the agents hosted here to end, which ends their tasks and removes
    /// their PMIx directories. When they all ended normally and started no agent process, that is all (no
    /// pass over /proc and $TMPDIR, ~3 ms of CPU per job here). Otherwise every process group left below this
    /// process (tasks, agent processes) is SIGKILLed, then the local launcher's sweep (agent processes started
    /// below, the job's PMIx directories).
    public func sweep(_ job: AgentSweep) async {
        let ended = await running.waitForAll(upTo: job.grace)
        if ended == .normally, !children.spawnedAny { return }
        if ended == .notYet { Self.killDescendantGroups() }
        await children.sweep(job)
    }

    /// A second Ctrl-C: SIGKILL the tasks (and agent processes) below this process at once.
    public func killAgentsNow(jobID: String) {
        Self.killDescendantGroups()
        children.killAgentsNow(jobID: jobID)
    }

    public var agentsRunHere: Bool { true }

    /// The agents this process will host (the first is rank 1) are served PMIx: their node's server starts
    /// now, beside the controller's set-up and the bootstrap, not when the agents do (its start held the first
    /// task back). The agents' own prestart finds it started.
    public func prestartNodeServers(jobID: String) {
        PMIxServer.shared.prestart(jobID: jobID, nodeName: PMIxJob.nodeName(firstAgent: 1))
    }

    /// The job failed before its agents joined the server ``prestartNodeServers(jobID:)`` started: stop it.
    public func finishNodeServers() {
        PMIxServer.shared.finish()
    }

    /// Every live descendant leading a process group of its own (tasks, agent processes), SIGKILLed by group.
    static func killDescendantGroups() {
        let me = getpid()
        for pid in JobProcessScan.descendants(of: me) where JobProcessScan.processGroup(of: pid) == pid && pid != me {
            kill(-pid, SIGKILL)
        }
    }

    /// How the agent runs hosted here ended.
    enum Ending: Sendable { case normally, byAFault, notYet }

    /// The agent runs hosted in this process.
    private final class Running: Sendable {
        private let runs = Mutex<[Task<Int32, Never>]>([])

        func add(_ run: Task<Int32, Never>) { runs.withLock { $0.append(run) } }

        /// Whether every run ended within `limit`, and how (a run's 1: ended by a fault).
        func waitForAll(upTo limit: Duration) async -> Ending {
            let all = runs.withLock { $0 }
            let (ended, signal) = AsyncStream.makeStream(of: Ending.self)
            let waiter = Task {
                var codes: [Int32] = []
                for run in all { codes.append(await run.value) }
                signal.yield(codes.allSatisfy { $0 == 0 } ? .normally : .byAFault)
            }
            let timer = Task {
                try? await Task.sleep(for: limit)
                signal.yield(.notYet)
            }
            var result = Ending.notYet
            for await value in ended {
                result = value
                break
            }
            waiter.cancel()
            timer.cancel()
            return result
        }
    }
}

/// A spawner that remembers whether it started anything.
final class CountingSpawner: AgentSpawner {
    let base: any AgentSpawner
    private let spawned = Mutex(false)

    init(_ base: any AgentSpawner) { self.base = base }

    var spawnedAny: Bool { spawned.withLock { $0 } }

    func spawnAgent(host: String, configuration: AgentProcessConfiguration) async throws -> SpawnedAgent {
        spawned.withLock { $0 = true }
        return try await base.spawnAgent(host: host, configuration: configuration)
    }
    func sweep(_ job: AgentSweep) async { await base.sweep(job) }
    func killAgentsNow(jobID: String) { base.killAgentsNow(jobID: jobID) }
    var agentsRunHere: Bool { base.agentsRunHere }
}
