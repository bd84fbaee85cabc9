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
/// agent here exactly as the job's own step would (`vhpc-agent --role step`, the configuration on its stdin,
/// the resource manager's environment inherited), and answers ``ControlPayload/residentExited(status:)``
/// when the agent exits. A front-end that goes away (its link closes) takes its job's agent with it: SIGTERM,
/// then SIGKILL after `grace`. The next job's agent is started ahead of it (``SpareAgent``): it has gone
/// through its exec and start-up, and waits on stdin, when the job comes.
public final class ResidentAgentServer: Sendable {
    private let listener: WireListener

    /// The port front-ends dial.
    public var port: Int { listener.port }

    private init(listener: WireListener) {
        self.listener = listener
    }

    /// Listens on `bindHost`, then reports `rank`'s endpoint (`advertisedHost`, the port bound) to the starting
    /// front-end at `configuration.report`. `executable` is the node agent's program (`vhpc-agent`).
    public static func serve(
        group: any EventLoopGroup, bindHost: String, configuration: ResidentConfiguration, rank: Int, advertisedHost: String,
        executable: String, grace: Duration = .milliseconds(1500)
    ) async throws -> ResidentAgentServer {
        guard let secret = JobSecret(hexEncoded: configuration.secretHex) else {
            throw ControlError.badConfiguration("the allocation's secret is not valid hex")
        }
        let window = Duration.milliseconds(configuration.handshakeMilliseconds)
        let jobID = ResidentAgents.linkJobID(allocation: configuration.allocation)
        let identity = PeerIdentity(rank: UInt32(rank), role: .rootAgent)
        let spare = SpareAgent(executable: executable, jobID: jobID)
        spare.replenish()
        let listener = try await WireListener.bind(
            group: group, host: bindHost,
            handshake: Handshake.Configuration(role: .responder, jobID: jobID, secret: secret, identity: identity, timeout: window),
            report: { _ in }
        ) { channel in
            let job = ResidentJob(spare: spare, grace: grace)
            channel.closeFuture.whenComplete { _ in job.linkClosed() }
            return RendezvousHandler { payload, channel in job.received(payload, on: channel) }
        }
        let own = AgentEndpoint(rank: rank, host: advertisedHost, port: listener.port, pid: getpid())
        let report = configuration.report
        do {
            let channel = try await WireListener.dial(
                group: group, host: report.host, port: report.port,
                handshake: Handshake.Configuration(role: .initiator, jobID: jobID, secret: secret, identity: identity, timeout: window),
                connectTimeout: window, report: { _ in }
            ) { _ in RendezvousHandler { _, _ in } }.get()
            try await channel.writeAndFlush(ControlPayload.stepJoin(own).message).get()
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
        case running(any LaunchedProcess)
        /// The link closed (the agent, if any, is being ended).
        case ended
    }

    private let spare: SpareAgent
    private let grace: Duration
    private let stage = Mutex(Stage.waiting)
    /// The agent's status was collected.
    private let exited = Atomic(false)
    /// The front-end is done with the job: its agent may finish exiting on its own.
    private let released = Atomic(false)

    init(spare: SpareAgent, grace: Duration) {
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
              stage.withLock({ if case .waiting = $0 { return true } else { return false } }) else {
            channel.close(promise: nil)
            return
        }
        let line = Array(text.utf8) + [UInt8(ascii: "\n")]
        Task {
            let status: Int32
            do {
                let process = try await spare.start(configuration: line)
                let ended = stage.withLock { stage -> Bool in
                    if case .ended = stage { return true }
                    stage = .running(process)
                    return false
                }
                if ended { end(process) }
                status = await process.waitForExit()
                exited.store(true, ordering: .releasing)
            } catch {
                status = 127
            }
            spare.replenish(after: .milliseconds(30))
            try? await channel.writeAndFlush(ControlPayload.residentExited(status: status).message).get()
            try? await channel.close()
        }
    }

    /// The front-end's link closed: the job's agent, if it still runs, ends (released: after the grace, if it
    /// has not exited by then).
    func linkClosed() {
        let process = stage.withLock { stage -> (any LaunchedProcess)? in
            defer { stage = .ended }
            if case .running(let process) = stage { return process }
            return nil
        }
        guard let process else { return }
        if released.load(ordering: .acquiring) {
            Task {
                try? await Task.sleep(for: grace)
                if !exited.load(ordering: .acquiring) { end(process) }
            }
        } else {
            end(process)
        }
    }

    /// SIGTERM to the agent's process group (its keeper passes it on), SIGKILL after the grace if it is still there.
    private func end(_ process: any LaunchedProcess) {
        process.signal(SIGTERM)
        Task {
            try? await Task.sleep(for: grace)
            if !exited.load(ordering: .acquiring) { process.signal(SIGKILL) }
        }
    }
}

/// The node agent of a resident agent's next job, started ahead of it: exec'd, through its start-up, and
/// waiting on stdin (as a prestarted step's agents wait for srun to forward their configuration). A job takes
/// it and a new one starts; one that died meanwhile (or none yet) means a fresh start.
final class SpareAgent: Sendable {
    private let executable: String
    private let jobID: String
    private let waiting = Mutex<(process: LocalProcess, input: Int32)?>(nil)

    init(executable: String, jobID: String) {
        self.executable = executable
        self.jobID = jobID
    }

    /// Starts the job's agent with `configuration` (its line on stdin). The next spare is the caller's to start
    /// (``replenish()``), once the job no longer needs the node's cores.
    func start(configuration line: [UInt8]) async throws -> any LaunchedProcess {
        if let (process, input) = waiting.withLock({ spare in defer { spare = nil }; return spare }) {
            var written = true
            line.withUnsafeBytes { written = write(input, $0.baseAddress, $0.count) == $0.count }
            close(input)
            if written, !ChildReaper.shared.hasExited(process.pid) { return process }
            process.signal(SIGKILL)
        }
        return try await LocalLauncher().launch(request(line))
    }

    /// Starts the next spare in the background (unless one waits), `delay` from now: after a job, its front-end
    /// ends in that time without the spare's start on the node's cores.
    func replenish(after delay: Duration = .zero) {
        Task {
            if delay > .zero { try? await Task.sleep(for: delay) }
            guard waiting.withLock({ $0 == nil }),
                  let (process, input) = try? await LocalLauncher().start(request([])) else { return }
            let kept = waiting.withLock { spare -> Bool in
                guard spare == nil else { return false }
                spare = (process, input)
                return true
            }
            if !kept {
                close(input)
                process.signal(SIGKILL)
            }
        }
    }

    private func request(_ line: [UInt8]) -> LaunchRequest {
        LaunchRequest(host: "localhost", executable: executable, arguments: AgentExecutable.arguments(role: .step, jobID: jobID),
                      standardInput: line)
    }
}

/// The starting front-end's side (`vhpc agents start`): a listener, authenticated with the allocation's secret,
/// where each node's resident agent reports where it listens.
public final class ResidentReports: Sendable {
    private let listener: WireListener
    private let reported: Mutex<[Int: AgentEndpoint]>

    /// The port resident agents report to.
    public var port: Int { listener.port }

    private init(listener: WireListener) {
        self.listener = listener
        self.reported = Mutex([:])
    }

    /// Listens on `host` (any free port) for the reports of `allocation`'s resident agents.
    public static func listen(host: String, allocation: String, secretHex: String, window: Duration) async throws -> ResidentReports {
        guard let secret = JobSecret(hexEncoded: secretHex) else { throw ControlError.badConfiguration("secret is not valid hex") }
        let handshake = Handshake.Configuration(
            role: .responder, jobID: ResidentAgents.linkJobID(allocation: allocation), secret: secret,
            identity: PeerIdentity(rank: 0, role: .controller), timeout: window)
        let box = Mutex<ResidentReports?>(nil)
        let listener = try await WireListener.bind(group: MultiThreadedEventLoopGroup.singleton, host: host, handshake: handshake, report: { _ in }) { _ in
            RendezvousHandler { payload, channel in
                if case .stepJoin(let endpoint) = payload, let reports = box.withLock({ $0 }) {
                    reports.reported.withLock { $0[endpoint.rank] = endpoint }
                }
                channel.close(promise: nil)
            }
        }
        let reports = ResidentReports(listener: listener)
        box.withLock { $0 = reports }
        return reports
    }

    /// The endpoints reported so far, by rank.
    public var endpoints: [Int: AgentEndpoint] { reported.withLock { $0 } }

    /// Stops listening.
    public func shutdown() {
        listener.server.close(promise: nil)
        listener.accepted.shut()
    }
}
