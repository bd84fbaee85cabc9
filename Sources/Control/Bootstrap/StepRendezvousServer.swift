import NIOConcurrencyHelpers
import NIOCore
import Topology
import Wire

/// The NIO shell of ``StepRendezvous`` in the front-end: a listener whose connections are authenticated with
/// the job secret (Wire's handshake, as every agent link), where step agents report their endpoint and get
/// their parent's.
public final class StepRendezvousServer: Sendable {
    private let listener: WireListener
    private let state: NIOLockedValueBox<State>

    private struct State {
        var machine: StepRendezvous
        var channels: [Int: any Channel] = [:]
    }

    /// The port step agents dial.
    public var port: Int { listener.port }

    private init(listener: WireListener, state: NIOLockedValueBox<State>) {
        self.listener = listener
        self.state = state
    }

    /// Listens on `host` (any free port) for the nodes of `tree`; `controller` is the endpoint the controller's
    /// children are given.
    public static func bind(
        group: any EventLoopGroup, host: String, jobID: String, secret: JobSecret, tree: BootTree,
        controller: AgentEndpoint, handshakeWindow: Duration, report: @escaping @Sendable (any Error) -> Void
    ) async throws -> StepRendezvousServer {
        let handshake = Handshake.Configuration(
            role: .responder, jobID: jobID, secret: secret, identity: PeerIdentity(rank: 0, role: .controller),
            timeout: handshakeWindow)
        let state = NIOLockedValueBox(State(machine: StepRendezvous(tree: tree, controller: controller)))
        let box = NIOLockedValueBox<StepRendezvousServer?>(nil)
        let listener = try await WireListener.bind(group: group, host: host, handshake: handshake, report: report) { channel in
            RendezvousHandler { payload, channel in box.withLockedValue { $0 }?.received(payload, on: channel) }
        }
        let server = StepRendezvousServer(listener: listener, state: state)
        box.withLockedValue { $0 = server }
        return server
    }

    private func received(_ payload: ControlPayload, on channel: any Channel) {
        let (actions, channels): ([StepRendezvous.Action], [Int: any Channel]) = state.withLockedValue { state in
            switch payload {
            case .stepJoin(let endpoint):
                let actions = state.machine.join(endpoint)
                if !actions.contains(where: { if case .reject = $0 { true } else { false } }) {
                    state.channels[endpoint.rank] = channel
                }
                return (actions, state.channels)
            case .stepReady(let rank):
                guard state.channels[rank] === channel else { return ([], [:]) }
                return (state.machine.markReady(rank), state.channels)
            default:
                return ([.reject(rank: -1, reason: "unexpected message")], [:])
            }
        }
        for action in actions {
            switch action {
            case .sendParent(let rank, let parent):
                channels[rank]?.writeAndFlush(ControlPayload.stepParent(parent).message, promise: nil)
            case .reject:
                channel.close(promise: nil)
            }
        }
    }

    /// Closes the listener and every rendezvous connection.
    public func shutdown() {
        listener.server.close(promise: nil)
        listener.accepted.shut()
    }
}

/// Hands every control payload on a rendezvous connection to a callback; anything else closes it.
final class RendezvousHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = Message
    let received: @Sendable (ControlPayload, any Channel) -> Void

    init(received: @escaping @Sendable (ControlPayload, any Channel) -> Void) {
        self.received = received
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let payload = ControlPayload(message: unwrapInboundIn(data)) else {
            context.close(promise: nil)
            return
        }
        received(payload, context.channel)
    }
}

/// The step agent's side of the rendezvous.
public enum StepRendezvousClient {
    /// Why the rendezvous failed.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Dials the front-end's rendezvous at `host:port`, reports `own` and waits (at most `timeout`) for the
    /// parent's endpoint. Returns it with a function that tells the front-end this agent is registered (and
    /// closes the connection).
    public static func join(
        group: any EventLoopGroup, host: String, port: Int, jobID: String, secret: JobSecret, own: AgentEndpoint,
        timeout: Duration
    ) async throws -> (parent: AgentEndpoint, ready: @Sendable () -> Void) {
        let handshake = Handshake.Configuration(
            role: .initiator, jobID: jobID, secret: secret, identity: PeerIdentity(rank: UInt32(own.rank), role: .rootAgent),
            timeout: timeout)
        let answer = group.next().makePromise(of: AgentEndpoint.self)
        let channel: any Channel
        do {
            channel = try await WireListener.dial(
                group: group, host: host, port: port, handshake: handshake, connectTimeout: timeout, report: { _ in }
            ) { _ in
                RendezvousHandler { payload, _ in
                    if case .stepParent(let parent) = payload { answer.succeed(parent) }
                }
            }.get()
        } catch {
            answer.fail(error)
            throw Failure(description: "cannot reach the front-end's rendezvous at \(host):\(port): \(error)")
        }
        channel.closeFuture.whenComplete { _ in
            answer.fail(Failure(description: "the front-end closed the rendezvous at \(host):\(port) before naming a parent"))
        }
        let timer = channel.eventLoop.scheduleTask(in: .nanoseconds(Int64(timeout.milliseconds) * 1_000_000)) {
            answer.fail(Failure(description: "no parent from the front-end's rendezvous at \(host):\(port) within \(timeout)"))
        }
        channel.writeAndFlush(ControlPayload.stepJoin(own).message, promise: nil)
        let parent: AgentEndpoint
        do {
            parent = try await answer.futureResult.get()
        } catch {
            channel.close(promise: nil)
            throw error
        }
        timer.cancel()
        return (parent, {
            channel.writeAndFlush(ControlPayload.stepReady(rank: own.rank).message).whenComplete { _ in
                channel.close(promise: nil)
            }
        })
    }
}
