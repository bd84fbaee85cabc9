import NIOPosix
import Synchronization
import Wire
#if canImport(Glibc)
import Glibc
#endif

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
