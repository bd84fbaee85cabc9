import Foundation
import Launch
import NIOCore
import NIOPosix
import Synchronization
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// Starts a job's agents through the allocation's resident agents (``ResidentAgents``, `vhpc agents start`)
/// instead of a job step of its own: each node's resident agent gets the configuration over a link
/// authenticated with the allocation's secret and starts `vhpc-agent --role step` there, as srun would; no srun
/// per job. The agents then meet the front-end's rendezvous exactly as a step's do. A resident agent that
/// cannot be reached (its step ended, the node failed) makes the job start a step of its own (`fallback`),
/// with one warning.
public struct ResidentStepSpawner: StepAgentSpawner {
    /// The allocation's resident agents.
    public let residents: ResidentAgents
    /// How the job starts its agents when they cannot: a step of its own.
    public let fallback: SlurmStepSpawner
    /// Writes a line (or the nodes' agents' stderr) on the front-end's stderr.
    let warn: @Sendable (String) -> Void
    /// Links dialled ahead of the job's configuration (``predial(hosts:window:)``), for these hosts.
    private var dialled: (hosts: [String], links: Task<ResidentLaunch, any Error>)?

    /// `warn` writes on the front-end's stderr: the fallback's warning, and what the nodes' agents write there.
    public init(residents: ResidentAgents, fallback: SlurmStepSpawner, warn: @escaping @Sendable (String) -> Void) {
        self.residents = residents
        self.fallback = fallback
        self.warn = warn
    }

    /// Starts dialling (and authenticating to) `hosts`' resident agents now, while the front-end sets up the
    /// job: ``spawnStep(hosts:configuration:)`` for the same hosts then only sends the configuration.
    public func predial(hosts: [String], window: Duration) -> ResidentStepSpawner {
        var spawner = self
        let (residents, warn) = (self.residents, self.warn)
        spawner.dialled = (hosts, Task { try await ResidentLaunch.connect(hosts: hosts, residents: residents, window: window, output: warn) })
        return spawner
    }

    public func spawnStep(hosts: [String], configuration: AgentProcessConfiguration) async throws -> SpawnedAgent {
        let text = String(decoding: try JSONEncoder().encode(configuration), as: UTF8.self)
        let launched: ResidentLaunch
        do {
            if let dialled, dialled.hosts == hosts {
                launched = try await dialled.links.value
            } else {
                launched = try await ResidentLaunch.connect(hosts: hosts, residents: residents,
                                                            window: .milliseconds(configuration.handshakeMilliseconds), output: warn)
            }
        } catch {
            warn("vhpc: \(error); starting this job's agents with a job step of its own (`vhpc agents stop` forgets the resident agents)")
            return try await fallback.spawnStep(hosts: hosts, configuration: configuration)
        }
        launched.send(configuration: text)
        return SpawnedAgent(pid: getpid(), waitForExit: { await launched.waitForExit() }, signal: { _ in launched.close() },
                            release: { wait in await launched.release(waitingForExit: wait) })
    }

    /// One node's agent through its resident agent (not used by vhpc, which starts every node's at once).
    public func spawnAgent(host: String, configuration: AgentProcessConfiguration) async throws -> SpawnedAgent {
        try await spawnStep(hosts: [host], configuration: configuration)
    }

    /// The job's agents were told to end: the resident agents are told the front-end is done (released) and
    /// their links close; each gives its node's agent the grace period to exit on its own, then ends it. After
    /// a job whose agents all did well the front-end does not wait for their processes to exit (a resident
    /// agent reaps them, as slurmstepd finishes a step after srun returns); after a failure it waits (up to the
    /// grace) for their exit, so that what they wrote on stderr is passed on. A job that fell back to a step of
    /// its own is swept as one.
    public func sweep(_ job: AgentSweep) async {
        var own = job
        own.spawned = job.spawned.filter { $0.release == nil }
        own.agentPIDs = []
        if !own.spawned.isEmpty { await fallback.sweep(own) }
        // Released together: each waits (up to the grace, after a failure) for its nodes' agents, then lets go.
        await withTaskGroup(of: Void.self) { group in
            for agent in job.spawned where agent.release != nil {
                group.addTask { await agent.release?(job.agentsFailed ? job.grace : .zero) }
            }
        }
    }
}

/// A job's launch through resident agents: one authenticated link per node, each answered with its agent's
/// exit status.
final class ResidentLaunch: Sendable {
    private let channels: [any Channel]
    private let statuses: [EventLoopFuture<Int32>]

    private init(channels: [any Channel], statuses: [EventLoopFuture<Int32>]) {
        self.channels = channels
        self.statuses = statuses
    }

    /// Dials every host's resident agent. Throws (having closed what it opened) if one cannot be reached or
    /// authenticated within `window`.
    /// What the nodes' agents write on stderr goes to `output`.
    static func connect(hosts: [String], residents: ResidentAgents, window: Duration,
                        output: @escaping @Sendable (String) -> Void) async throws -> ResidentLaunch {
        guard let secret = JobSecret(hexEncoded: residents.secretHex) else {
            throw ResidentFailure(description: "the resident agents' state has a bad secret")
        }
        let group = MultiThreadedEventLoopGroup.singleton
        let jobID = ResidentAgents.linkJobID(allocation: residents.allocation)
        let handshake = Handshake.Configuration(
            role: .initiator, jobID: jobID, secret: secret, identity: PeerIdentity(rank: 0, role: .controller), timeout: window)
        var dials: [(host: String, channel: EventLoopFuture<any Channel>, status: FirstStatus)] = []
        for host in hosts {
            guard let endpoint = residents.endpoints[host] else {
                for dial in dials { dial.channel.whenSuccess { $0.close(promise: nil) } }
                throw ResidentFailure(description: "no resident agent on \(host)")
            }
            let status = FirstStatus(group.next().makePromise(of: Int32.self))
            let channel = WireListener.dial(
                group: group, host: endpoint.host, port: endpoint.port, handshake: handshake, connectTimeout: window, report: { _ in }
            ) { _ in
                RendezvousHandler { payload, _ in
                    switch payload {
                    case .residentExited(let code): status.complete(code)
                    case .residentOutput(let text): output(text.hasSuffix("\n") ? String(text.dropLast()) : text)
                    default: break
                    }
                }
            }
            channel.whenComplete { result in
                switch result {
                case .success(let channel):
                    // A link lost before the answer: the agent's fate is unknown; count it as killed.
                    channel.closeFuture.whenComplete { _ in status.complete(128 + SIGKILL) }
                case .failure:
                    status.complete(128 + SIGKILL)
                }
            }
            dials.append((host, channel, status))
        }
        var channels: [any Channel] = []
        var failure: (any Error)?
        for dial in dials {
            do {
                channels.append(try await dial.channel.get())
            } catch {
                failure = failure ?? ResidentFailure(description: "the resident agent on \(dial.host) cannot be reached: \(error)")
            }
        }
        if let failure {
            for channel in channels { channel.close(promise: nil) }
            throw failure
        }
        return ResidentLaunch(channels: channels, statuses: dials.map(\.status.promise.futureResult))
    }

    /// Sends every resident agent the job's configuration: each starts its node's agent.
    func send(configuration: String) {
        for channel in channels {
            channel.writeAndFlush(ControlPayload.residentLaunch(configuration: configuration).message, promise: nil)
        }
    }

    /// The first non-zero status of the nodes' agents, else 0.
    func waitForExit() async -> Int32 {
        var result: Int32 = 0
        for status in statuses {
            let code = (try? await status.get()) ?? 128 + SIGKILL
            if result == 0 { result = code }
        }
        return result
    }

    /// Closes every link: each resident agent ends its node's agent at once (SIGTERM, then SIGKILL).
    func close() {
        for channel in channels { channel.close(promise: nil) }
    }

    /// Tells every resident agent the front-end is done (its node's agent gets a grace period to exit on its
    /// own), waits (at most a second) for that to be written, and closes the links. With `waitingForExit`, it
    /// first waits up to that long for the agents to exit (and what they wrote on stderr to arrive).
    func release(waitingForExit limit: Duration = .zero) async {
        if limit > .zero { _ = await EventLoopFuture.allComplete(statuses, within: limit) }
        _ = await EventLoopFuture.allComplete(channels.map { $0.writeAndFlush(ControlPayload.residentRelease.message) }, within: .seconds(1))
        close()
    }
}

/// A promise completed by the first of several answers (the agent's status, or its link's loss).
final class FirstStatus: Sendable {
    let promise: EventLoopPromise<Int32>
    private let done = Atomic(false)

    init(_ promise: EventLoopPromise<Int32>) {
        self.promise = promise
    }

    func complete(_ code: Int32) {
        if !done.exchange(true, ordering: .acquiringAndReleasing) { promise.succeed(code) }
    }
}

/// Why resident agents could not start a job's agents.
struct ResidentFailure: Error, CustomStringConvertible {
    var description: String
}
