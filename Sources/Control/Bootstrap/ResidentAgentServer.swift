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

/// A job's node agent started by a resident agent: its process, and its stderr passed on to the job's link.
final class NodeJobAgent: Sendable {
    let process: LocalProcess
    private let exited = Atomic(false)
    private let errors: StderrRelay

    init(process: LocalProcess, errors: StderrRelay) {
        self.process = process
        self.errors = errors
    }

    /// The agent's status (128 + signal if killed), once it has exited and what it wrote on stderr has been
    /// passed on (up to 200 ms for that).
    func waitForExit() async -> Int32 {
        let status = await process.waitForExit()
        exited.store(true, ordering: .releasing)
        await errors.waitForEnd(within: .milliseconds(200))
        return status
    }

    /// SIGTERM to the agent's process group (its keeper passes it on), SIGKILL after `grace` if it is still
    /// there; nothing once it has exited (its pid may be another process's by then).
    func end(grace: Duration) {
        guard !exited.load(ordering: .acquiring) else { return }
        process.signal(SIGTERM)
        Task {
            try? await Task.sleep(for: grace)
            if !exited.load(ordering: .acquiring) { process.signal(SIGKILL) }
        }
    }

    func attach(_ channel: any Channel) { errors.attach(channel) }
}

/// Reads a node agent's stderr on a thread of its own and passes it to the job's link as it comes; what the
/// agent writes before it has a job (a spare) is kept, up to 16 KiB, and goes with the job's first output.
final class StderrRelay: Sendable {
    private struct State {
        var channel: (any Channel)?
        var pending: [UInt8] = []
    }

    private let state = Mutex(State())
    /// Signalled at the stderr's end of file.
    private let ended = DispatchSemaphore(value: 0)
    static let pendingLimit = 16 * 1024

    /// Starts reading `fd` (closed at its end of file).
    static func reading(_ fd: Int32) -> StderrRelay {
        let relay = StderrRelay()
        let thread = Thread {
            var block = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = read(fd, &block, block.count)
                if count < 0, errno == EINTR { continue }
                guard count > 0 else { break }
                relay.received(Array(block[..<count]))
            }
            close(fd)
            relay.ended.signal()
        }
        thread.name = "vhpc-agent-stderr"
        thread.start()
        return relay
    }

    /// Waits (at most `limit`) for the stderr's end of file: everything the agent wrote has been passed on.
    func waitForEnd(within limit: Duration) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async { [ended] in
                if ended.wait(timeout: .now() + .milliseconds(Int(limit.milliseconds))) == .success { ended.signal() }
                continuation.resume()
            }
        }
    }

    func attach(_ channel: any Channel) {
        let pending = state.withLock { state -> [UInt8] in
            state.channel = channel
            defer { state.pending = [] }
            return state.pending
        }
        if !pending.isEmpty { send(pending, to: channel) }
    }

    private func received(_ bytes: [UInt8]) {
        let channel = state.withLock { state -> (any Channel)? in
            if state.channel == nil, state.pending.count + bytes.count <= Self.pendingLimit { state.pending += bytes }
            return state.channel
        }
        if let channel { send(bytes, to: channel) }
    }

    private func send(_ bytes: [UInt8], to channel: any Channel) {
        channel.writeAndFlush(ControlPayload.residentOutput(String(decoding: bytes, as: UTF8.self)).message, promise: nil)
    }
}

/// The node agent of a resident agent's next job, started ahead of it: exec'd, through its start-up (and
/// first uses, ``AgentWarmUp``), waiting on stdin, as a prestarted step's agents wait for srun to forward their
/// configuration. A job takes it; the next one starts after the job (``replenish(after:)``). One that died
/// meanwhile, or none yet, means a fresh start.
final class SpareAgent: Sendable {
    private let executable: String
    private let jobID: String
    private let waiting = Mutex<(agent: NodeJobAgent, input: Int32)?>(nil)

    init(executable: String, jobID: String) {
        self.executable = executable
        self.jobID = jobID
    }

    /// Starts the job's agent with `configuration` (its line on stdin); its stderr goes to `output`.
    func start(configuration line: [UInt8], output: any Channel) async throws -> NodeJobAgent {
        if let (agent, input) = waiting.withLock({ spare in defer { spare = nil }; return spare }) {
            line.withUnsafeBytes { writeAll(input, $0) }
            close(input)
            if !ChildReaper.shared.hasExited(agent.process.pid) {
                agent.attach(output)
                return agent
            }
            agent.process.signal(SIGKILL)
        }
        let (agent, input) = try await launch(spare: false)
        line.withUnsafeBytes { writeAll(input, $0) }
        close(input)
        agent.attach(output)
        return agent
    }

    /// Starts the next spare in the background (unless one waits), `delay` from now: after a job, its front-end
    /// ends in that time without the spare's start on the node's cores.
    func replenish(after delay: Duration = .zero) {
        Task {
            if delay > .zero { try? await Task.sleep(for: delay) }
            guard waiting.withLock({ $0 == nil }), let (agent, input) = try? await launch(spare: true) else { return }
            let kept = waiting.withLock { spare -> Bool in
                guard spare == nil else { return false }
                spare = (agent, input)
                return true
            }
            if !kept {
                close(input)
                agent.process.signal(SIGKILL)
            }
        }
    }

    private func launch(spare: Bool) async throws -> (NodeJobAgent, Int32) {
        let errors = try ProcessSpawner.makePipe()
        let request = LaunchRequest(
            host: "localhost", executable: executable, arguments: AgentExecutable.arguments(role: .step, jobID: jobID),
            environment: spare ? [ResidentAgents.spareVariable: "1"] : [:])
        do {
            let (process, input) = try await LocalLauncher().start(request, standardError: errors.write)
            close(errors.write)
            return (NodeJobAgent(process: process, errors: StderrRelay.reading(errors.read)), input)
        } catch {
            close(errors.read)
            close(errors.write)
            throw error
        }
    }
}

/// The starting front-end's side (`vhpc agents start`): a listener, authenticated with the allocation's secret,
/// where each node's resident agent reports where it listens.
public final class ResidentReports: Sendable {
    /// What the nodes reported: endpoints by node name, and their step.
    public struct Reported: Sendable {
        public var endpoints: [String: AgentEndpoint] = [:]
        public var step: String?
    }

    private let listener: WireListener
    private let state: Mutex<Reported>

    /// The port resident agents report to.
    public var port: Int { listener.port }

    private init(listener: WireListener) {
        self.listener = listener
        self.state = Mutex(Reported())
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
                if case .residentReport(let node, let step, let endpoint) = payload, let reports = box.withLock({ $0 }) {
                    reports.state.withLock {
                        $0.endpoints[node] = endpoint
                        $0.step = step
                    }
                }
                channel.close(promise: nil)
            }
        }
        let reports = ResidentReports(listener: listener)
        box.withLock { $0 = reports }
        return reports
    }

    /// What was reported so far.
    public var reported: Reported { state.withLock { $0 } }

    /// Stops listening.
    public func shutdown() {
        listener.server.close(promise: nil)
        listener.accepted.shut()
    }
}
