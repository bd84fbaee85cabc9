import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Wire

/// The links of the agents one process hosts: one listener for all of them, one authenticated connection (a
/// *trunk*) per peer process it dialed, and in-process links between its own agents.
///
/// With one agent per process, as on a real cluster, a trunk carries exactly the one link between two agents.
/// With `--agents-per-process`, the agents of one process share its trunks, as channels share an SSH
/// connection: a link is opened, used and closed with ``LinkFrame``s, and closes when its trunk does (the
/// peer process died or the connection was cut), so the connection-close detector sees what it saw before.
/// Each agent keeps its own state machine and links; only sockets are shared.
///
/// Hubs bound with `sameProcessPeers` (the front-end's and that of the agents it hosts itself, see
/// ``InProcessAgentSpawner``) find each other in this process: a link between them is an in-process link too,
/// without a connection, handshake or frame MACs (nothing outside the process is involved).
public final class LinkHub: Sendable {
    /// The port every hosted agent advertises.
    public var port: Int { listener.withLockedValue { $0?.port ?? 0 } }
    private let group: any EventLoopGroup
    private let dialing: Handshake.Configuration
    /// Set once bound (the hub exists first, so a connection accepted at once finds it).
    private let listener = NIOLockedValueBox<WireListener?>(nil)
    private let report: @Sendable (any Error) -> Void
    private let hosted: Set<Int>
    private let state = NIOLockedValueBox(State())
    /// Listed in ``sameProcess`` (until shut down).
    private let listedInProcess: Bool

    private struct State {
        var agents: [Int: AgentInput] = [:]
        /// Trunks this process dialed, by "host:port"; a closed one is forgotten.
        var trunks: [String: EventLoopFuture<Trunk>] = [:]
        /// Each dialed trunk's entry in `trunks`, by channel.
        var dialed: [ObjectIdentifier: (key: String, future: EventLoopFuture<Trunk>)] = [:]
        var isShut = false
    }

    /// A dialed connection to a peer process and its tail handler.
    private struct Trunk: Sendable {
        var channel: any Channel
        var handler: NIOLoopBound<TrunkHandler>
    }

    private init(
        group: any EventLoopGroup, dialing: Handshake.Configuration, hosted: Set<Int>, listedInProcess: Bool,
        report: @escaping @Sendable (any Error) -> Void
    ) {
        self.group = group
        self.dialing = dialing
        self.hosted = hosted
        self.listedInProcess = listedInProcess
        self.report = report
    }

    /// The usual `report` of a hub: why a link's connection ended, at debug level (the failure detectors tell
    /// the user what matters), except a message this process could not send (too large for a frame), which is
    /// a fault here and is logged as an error naming the message.
    public static func logging(to logger: Logger) -> @Sendable (any Error) -> Void {
        { error in
            if case WireError.messageTooLarge = error {
                logger.error("\(error)")
            } else {
                logger.debug("link error", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Binds the process's listener on `host` (any free port) for the agents `hosted`. The process proves
    /// itself as `identity` (its lowest rank) in each trunk's handshake. With `sameProcessPeers`, links to
    /// the agents of another such hub of the job in this process are in-process links.
    public static func bind(
        group: any EventLoopGroup, host: String, jobID: String, secret: JobSecret, identity: PeerIdentity,
        hosted: Set<Int>, handshakeWindow: Duration, sameProcessPeers: Bool = false,
        report: @escaping @Sendable (any Error) -> Void
    ) async throws -> LinkHub {
        let responder = Handshake.Configuration(
            role: .responder, jobID: jobID, secret: secret, identity: identity, timeout: handshakeWindow)
        let dialing = Handshake.Configuration(
            role: .initiator, jobID: jobID, secret: secret, identity: identity, timeout: handshakeWindow)
        let hub = LinkHub(group: group, dialing: dialing, hosted: hosted, listedInProcess: sameProcessPeers, report: report)
        let listener = try await WireListener.bind(group: group, host: host, handshake: responder, report: report) { channel in
            TrunkHandler(hub: hub, dialed: false, eventLoop: channel.eventLoop)
        }
        hub.listener.withLockedValue { $0 = listener }
        if sameProcessPeers { sameProcess.withLockedValue { $0.append(Listed(hub: hub)) } }
        return hub
    }

    /// The hubs bound with `sameProcessPeers` in this process (weakly: one that is never shut down is not kept).
    private static let sameProcess = NIOLockedValueBox<[Listed]>([])

    private struct Listed: @unchecked Sendable {
        weak var hub: LinkHub?
    }

    /// The listed hub of this job (same id and secret) that hosts `rank` and listens on `port`, if this hub is
    /// listed too.
    private func sameProcessPeer(hosting rank: Int, port: Int) -> LinkHub? {
        guard listedInProcess else { return nil }
        let peer = Self.sameProcess.withLockedValue { listed in
            listed.lazy.compactMap(\.hub).first { $0 !== self && $0.hosted.contains(rank) && $0.dialing.jobID == self.dialing.jobID }
        }
        guard let peer, peer.dialing.secret == dialing.secret, peer.port == port else { return nil }
        return peer
    }

    /// Ids of links as agents see them (unique in the process).
    private static let linkIDs = NIOLockedValueBox(0)

    static func nextLinkID() -> Int {
        linkIDs.withLockedValue { $0 += 1; return $0 }
    }

    // MARK: Agents

    /// From now on links opened to `rank` are accepted, and their events go to `input`.
    func register(rank: Int, input: AgentInput) {
        state.withLockedValue { state in
            if !state.isShut { state.agents[rank] = input }
        }
    }

    /// `rank` has exited: links opened to it from now on are refused.
    func unregister(rank: Int) {
        state.withLockedValue { _ = $0.agents.removeValue(forKey: rank) }
    }

    /// Where the events of hosted agent `rank` go, if it is running.
    func input(of rank: Int) -> AgentInput? {
        state.withLockedValue { $0.agents[rank] }
    }

    // MARK: Dialing

    /// Opens a link from hosted agent `local` to agent `remote` at `host:port`. On success `input` has been
    /// given `.opened`; throws if the peer is not there or does not answer within `timeout`.
    func dial(from local: Int, to remote: Int, host: String, port: Int, input: AgentInput, timeout: Duration) async throws {
        if try dialInProcess(from: local, to: remote, port: port, input: input) { return }
        // A trunk that closed just before the open may still be in the table: one fresh attempt.
        for attempt in 0..<2 {
            let trunk = try await self.trunk(host: host, port: port, timeout: timeout).get()
            do {
                try await trunk.channel.eventLoop.flatSubmit {
                    trunk.handler.value.open(from: local, to: remote, input: input, timeout: timeout)
                }.get()
                return
            } catch LinkError.trunkClosed where attempt == 0 {
                forget(trunk.channel)
            }
        }
    }

    /// Opens the link from hosted agent `local` to agent `remote` at once if `remote` lives in this process (hosted
    /// here, or by a listed peer hub listening on `port`): returns true then (`input` has been given `.opened`), or
    /// throws if `remote` is not running. False: the link needs a connection (``dial(from:to:host:port:input:timeout:)``).
    func dialInProcess(from local: Int, to remote: Int, port: Int, input: AgentInput) throws -> Bool {
        if hosted.contains(remote) {
            try openLocal(from: local, to: remote, input: input, at: self)
            return true
        }
        if let peer = sameProcessPeer(hosting: remote, port: port) {
            try openLocal(from: local, to: remote, input: input, at: peer)
            return true
        }
        return false
    }

    /// Opens an in-process link to agent `remote` of `hub` (this one or a listed peer).
    private func openLocal(from local: Int, to remote: Int, input: AgentInput, at hub: LinkHub) throws {
        guard let peerInput = hub.input(of: remote) else { throw LinkError.refused(rank: remote) }
        let dialer = LocalLink.Side(rank: local, id: Self.nextLinkID(), input: input)
        let acceptor = LocalLink.Side(rank: remote, id: Self.nextLinkID(), input: peerInput)
        guard LocalLink(dialer, acceptor).open() else { throw LinkError.refused(rank: remote) }
    }

    private func trunk(host: String, port: Int, timeout: Duration) -> EventLoopFuture<Trunk> {
        let key = "\(host):\(port)"
        let (existing, fresh): (EventLoopFuture<Trunk>?, EventLoopPromise<Trunk>?) = state.withLockedValue { state in
            if state.isShut { return (group.next().makeFailedFuture(LinkError.trunkClosed), nil) }
            if let trunk = state.trunks[key] { return (trunk, nil) }
            let promise = group.next().makePromise(of: Trunk.self)
            state.trunks[key] = promise.futureResult
            return (nil, promise)
        }
        if let existing { return existing }
        let promise = fresh!
        let box = NIOLockedValueBox<NIOLoopBound<TrunkHandler>?>(nil)
        WireListener.dial(
            group: group, host: host, port: port, handshake: dialing, connectTimeout: timeout, report: report
        ) { [self] channel in
            let handler = TrunkHandler(hub: self, dialed: true, eventLoop: channel.eventLoop)
            box.withLockedValue { $0 = NIOLoopBound(handler, eventLoop: channel.eventLoop) }
            return handler
        }.whenComplete { [self] result in
            switch result {
            case .success(let channel):
                let shut = state.withLockedValue { state in
                    state.dialed[ObjectIdentifier(channel)] = (key, promise.futureResult)
                    return state.isShut
                }
                if shut { channel.close(promise: nil) }
                promise.succeed(Trunk(channel: channel, handler: box.withLockedValue { $0! }))
            case .failure(let error):
                state.withLockedValue { state in
                    if state.trunks[key] === promise.futureResult { state.trunks[key] = nil }
                }
                promise.fail(error)
            }
        }
        return promise.futureResult
    }

    /// A trunk closed: dialed ones are dialed again when next needed.
    func trunkClosed(_ channel: any Channel) {
        forget(channel)
    }

    private func forget(_ channel: any Channel) {
        state.withLockedValue { state in
            guard let (key, future) = state.dialed.removeValue(forKey: ObjectIdentifier(channel)) else { return }
            if state.trunks[key] === future { state.trunks[key] = nil }
        }
    }

    /// Trunks other processes dialed to this one that are still open.
    var acceptedTrunkCount: Int { listener.withLockedValue { $0?.accepted.openCount ?? 0 } }

    /// Test hook: closes every trunk other processes dialed to this one (as a cut link or a dead peer would).
    func closeAcceptedTrunks() {
        listener.withLockedValue { $0 }?.accepted.closeAll()
    }

    // MARK: Shutdown

    /// Closes the listener, every accepted trunk and every dialed one. Links on them close with them.
    public func shutdown() {
        if listedInProcess { Self.sameProcess.withLockedValue { $0.removeAll { $0.hub == nil || $0.hub === self } } }
        let trunks = state.withLockedValue { state in
            state.isShut = true
            state.agents = [:]
            defer { state.trunks = [:] }
            return Array(state.trunks.values)
        }
        if let listener = listener.withLockedValue({ $0 }) {
            listener.server.close(promise: nil)
            listener.accepted.shut()
        }
        for trunk in trunks { trunk.whenSuccess { $0.channel.close(promise: nil) } }
    }
}
