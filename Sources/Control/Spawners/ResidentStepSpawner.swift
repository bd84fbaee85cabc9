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
    public let residents: ResidentAgents
    public let fallback: SlurmStepSpawner
    let warn: @Sendable (String) -> Void

    public init(residents: ResidentAgents, fallback: SlurmStepSpawner, warn: @escaping @Sendable (String) -> Void) {
        self.residents = residents
        self.fallback = fallback
        self.warn = warn
    }

    public func spawnStep(hosts: [String], configuration: AgentProcessConfiguration) async throws -> SpawnedAgent {
        let text = String(decoding: try JSONEncoder().encode(configuration), as: UTF8.self)
        let launched: ResidentLaunch
        do {
            launched = try await ResidentLaunch.start(hosts: hosts, residents: residents, configuration: text,
                                                      window: .milliseconds(configuration.handshakeMilliseconds))
        } catch {
            warn("vhpc: \(error); starting this job's agents with a job step of its own (`vhpc agents stop` forgets the resident agents)")
            return try await fallback.spawnStep(hosts: hosts, configuration: configuration)
        }
        return SpawnedAgent(pid: getpid(), waitForExit: { await launched.waitForExit() }, signal: { _ in launched.close() })
    }

    /// One node's agent through its resident agent (not used by vhpc, which starts every node's at once).
    public func spawnAgent(host: String, configuration: AgentProcessConfiguration) async throws -> SpawnedAgent {
        try await spawnStep(hosts: [host], configuration: configuration)
    }

    /// The agents end with the job (they exit after its terminate); the links that stand for them are closed
    /// after the grace period, on which the resident agents end whatever is left of them. A job that fell
    /// back to a step of its own is swept as one.
    public func sweep(_ job: AgentSweep) async {
        let own = job.spawned.filter { $0.pid != getpid() }
        if !own.isEmpty { await fallback.sweep(AgentSweep(jobID: job.jobID, spawned: own, agentPIDs: [])) }
        let resident = job.spawned.filter { $0.pid == getpid() }
        guard !resident.isEmpty else { return }
        await withTaskGroup(of: Void.self) { group in
            for agent in resident {
                group.addTask {
                    let exited = Task { _ = await agent.waitForExit() }
                    let deadline = Task {
                        try? await Task.sleep(for: job.grace)
                        agent.signal(SIGKILL)
                    }
                    await exited.value
                    deadline.cancel()
                }
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

    /// Dials every host's resident agent, then sends each the configuration. Throws (having closed what it
    /// opened) if one cannot be reached or authenticated within `window`.
    static func start(hosts: [String], residents: ResidentAgents, configuration: String, window: Duration) async throws -> ResidentLaunch {
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
                throw ResidentFailure(description: "no resident agent on \(host)")
            }
            let status = FirstStatus(group.next().makePromise(of: Int32.self))
            let channel = WireListener.dial(
                group: group, host: endpoint.host, port: endpoint.port, handshake: handshake, connectTimeout: window, report: { _ in }
            ) { _ in
                RendezvousHandler { payload, _ in
                    if case .residentExited(let code) = payload { status.complete(code) }
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
        for channel in channels {
            channel.writeAndFlush(ControlPayload.residentLaunch(configuration: configuration).message, promise: nil)
        }
        return ResidentLaunch(channels: channels, statuses: dials.map(\.status.promise.futureResult))
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

    /// Closes every link: each resident agent ends its node's agent (SIGTERM, then SIGKILL).
    func close() {
        for channel in channels { channel.close(promise: nil) }
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
