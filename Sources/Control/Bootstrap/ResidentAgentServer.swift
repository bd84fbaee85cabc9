import Foundation
import HostProcess
import Launch
import NIOCore
import NIOPosix
import Synchronization
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// The node's side of resident agents (``ResidentAgents``): a listener whose links are authenticated with the
/// allocation's secret. On a front-end's ``ControlPayload/residentLaunch(configuration:)`` it starts that job's
/// agent here as the job's own step would (`vhpc-agent --role step`, the configuration on its stdin, with this
/// node's rank in the job set in it), passes on what the agent writes on stderr
/// (``ControlPayload/residentOutput(_:)``) and answers ``ControlPayload/residentExited(status:)`` when it
/// exits. A front-end that goes away (its link closes) takes its job's agent with it: SIGTERM, then SIGKILL
/// after `grace`; one that released it first (``ControlPayload/residentRelease``) leaves it the grace to exit on
/// its own. The next job's agent is started ahead of it (``SpareAgent``).
public final class ResidentAgentServer: Sendable {
    private let listener: WireListener

    /// The port front-ends dial.
    public var port: Int { listener.port }

    private init(listener: WireListener) {
        self.listener = listener
    }

    /// Listens on `bindHost`, then reports this node's endpoint (`advertisedHost`, the port bound) to the
    /// starting front-end at `configuration.report`. `node` is Slurm's name for this node, `step` the resident
    /// agents' step (`<job>.<step>`), `executable` the node agent's program (`vhpc-agent`).
    public static func serve(
        group: any EventLoopGroup, bindHost: String, configuration: ResidentConfiguration, node: String, step: String,
        advertisedHost: String, executable: String, grace: Duration = .milliseconds(1500)
    ) async throws -> ResidentAgentServer {
        guard let secret = JobSecret(hexEncoded: configuration.secretHex) else {
            throw ControlError.badConfiguration("the allocation's secret is not valid hex")
        }
        let window = Duration.milliseconds(configuration.handshakeMilliseconds)
        let jobID = ResidentAgents.linkJobID(allocation: configuration.allocation)
        let identity = PeerIdentity(rank: 1, role: .rootAgent)
        let spare = SpareAgent(executable: executable, jobID: jobID)
        spare.replenish()
        let listener = try await WireListener.bind(
            group: group, host: bindHost,
            handshake: Handshake.Configuration(role: .responder, jobID: jobID, secret: secret, identity: identity, timeout: window),
            report: { _ in }
        ) { channel in
            let job = ResidentJob(node: node, spare: spare, grace: grace)
            channel.closeFuture.whenComplete { _ in job.linkClosed() }
            return RendezvousHandler { payload, channel in job.received(payload, on: channel) }
        }
        let own = AgentEndpoint(rank: 1, host: advertisedHost, port: listener.port, pid: getpid())
        let report = configuration.report
        do {
            let channel = try await WireListener.dial(
                group: group, host: report.host, port: report.port,
                handshake: Handshake.Configuration(role: .initiator, jobID: jobID, secret: secret, identity: identity, timeout: window),
                connectTimeout: window, report: { _ in }
            ) { _ in RendezvousHandler { _, _ in } }.get()
            try await channel.writeAndFlush(ControlPayload.residentReport(node: node, step: step, endpoint: own).message).get()
            try? await channel.close()
        } catch {
            listener.server.close(promise: nil)
            throw ControlError.bootstrapFailed("cannot report to the front-end at \(report.host):\(report.port): \(error)")
        }
        return ResidentAgentServer(listener: listener)
    }
}

/// One front-end's job on a resident agent's link: at most one launch; its agent ends with the link.
final class ResidentJob: Sendable {
    private enum Stage {
        case waiting
        case starting
        case running(NodeJobAgent)
        /// The agent exited (its status collected): nothing is left to signal.
        case finished
        /// The link closed first (an agent still starting is ended as soon as it exists).
        case ended
    }

    private let node: String
    private let spare: SpareAgent
    private let grace: Duration
    private let stage = Mutex(Stage.waiting)
    /// The front-end is done with the job: its agent may finish exiting on its own.
    private let released = Atomic(false)

    init(node: String, spare: SpareAgent, grace: Duration) {
        self.node = node
        self.spare = spare
        self.grace = grace
    }

    func received(_ payload: ControlPayload, on channel: any Channel) {
        if case .residentRelease = payload {
            released.store(true, ordering: .releasing)
            return
        }
        guard case .residentLaunch(let text) = payload,
              let configuration = try? JSONDecoder().decode(AgentProcessConfiguration.self, from: Data(text.utf8)),
              stage.withLock({ stage -> Bool in
                  guard case .waiting = stage else { return false }
                  stage = .starting
                  return true
              }) else {
            channel.close(promise: nil)
            return
        }
        guard let index = configuration.hosts.firstIndex(of: node), let line = Self.line(configuration, rank: index + 1) else {
            let reason = "vhpc: node \(node) is not among the job's hosts (\(configuration.hosts.joined(separator: ",")))\n"
            channel.writeAndFlush(ControlPayload.residentOutput(reason).message, promise: nil)
            channel.writeAndFlush(ControlPayload.residentExited(status: 1).message).whenComplete { _ in channel.close(promise: nil) }
            return
        }
        Task {
            let status: Int32
            do {
                let agent = try await spare.start(configuration: line, output: channel)
                let ended = stage.withLock { stage -> Bool in
                    if case .ended = stage { return true }
                    stage = .running(agent)
                    return false
                }
                if ended { agent.end(grace: grace) }
                status = await agent.waitForExit()
                stage.withLock { if case .running = $0 { $0 = .finished } }
            } catch {
                channel.writeAndFlush(ControlPayload.residentOutput("vhpc: cannot start the node agent on \(node): \(error)\n").message, promise: nil)
                status = 127
            }
            spare.replenish(after: .milliseconds(30))
            try? await channel.writeAndFlush(ControlPayload.residentExited(status: status).message).get()
            try? await channel.close()
        }
    }

    /// The configuration line with this node's rank in the job.
    private static func line(_ configuration: AgentProcessConfiguration, rank: Int) -> [UInt8]? {
        var configuration = configuration
        configuration.stepRank = rank
        guard let data = try? JSONEncoder().encode(configuration) else { return nil }
        return Array(data) + [UInt8(ascii: "\n")]
    }

    /// The front-end's link closed: the job's agent, if it still runs, ends (released: after the grace, if it
    /// has not exited by then).
    func linkClosed() {
        let agent = stage.withLock { stage -> NodeJobAgent? in
            if case .running(let agent) = stage { return agent }
            if case .finished = stage { return nil }
            stage = .ended
            return nil
        }
        guard let agent else { return }
        if released.load(ordering: .acquiring) {
            Task { [grace] in
                try? await Task.sleep(for: grace)
                agent.end(grace: grace)
            }
        } else {
            agent.end(grace: grace)
        }
    }
}
