import Foundation
import NIOCore
import Wire

/// Control-layer messages (bootstrap reports, address tables, task results). They travel as Wire's
/// ``Wire/Message/agentControl(_:)`` with a binary body: Wire frames and authenticates them, the schema
/// stays here.
public enum ControlPayload: Sendable, Hashable {
    /// Child → parent after bootstrap of its subtree: every endpoint that came up, every rank that did not.
    case subtreeReady(endpoints: [AgentEndpoint], failed: [FailureNotice])
    /// Controller → down the tree: every live endpoint, and the job's epoch-0 failure list.
    case addressTable(endpoints: [AgentEndpoint], failed: [Int])
    /// Child → parent: this many agents of my subtree have all their BMG links up.
    case subtreeWired(count: Int)
    /// Agent → controller: a task ended (`status` is the exit code or 128 + signal); `output`: its streams ended
    /// after that many chunks each (they send no end-of-stream mark of their own), nil: they end on their own.
    case taskExited(node: Int, task: Int, status: Int32, message: String, output: OutputCounts? = nil)
    /// Agent → controller: the tasks of a node could not start (e.g. command not found).
    case launchFailed(node: Int, message: String)
    /// Controller → every agent (flooded): a file to stage.
    case stageOffer(StagingOffer)
    /// Child → feeder: the chunk at `offset` failed its checksum; send again from there.
    case stageResend(transferID: UInt64, offset: UInt64)
    /// Feeder → child: this agent cannot feed the transfer any more (its own copy failed); find another feeder.
    case stageDetach(transferID: UInt64)
    /// Node → controller: the outcome of one staged file on that node.
    case staged(StagingReport)
    /// Node → controller: every PMI task of the node entered fence (barrier) `epoch`; `entries` are the
    /// node's puts since the previous fence (or its PMIx contribution), part `part` of `parts` (``PMIParts``).
    case pmiFence(node: Int, epoch: Int, entries: [PMIEntry], part: Int = 0, parts: Int = 1)
    /// Controller → every agent (flooded): every node entered fence `epoch`; `entries` are all their puts,
    /// part `part` of `parts`.
    case pmiRelease(epoch: Int, entries: [PMIEntry], part: Int = 0, parts: Int = 1)
    /// Agent → neighbour `helper` (or the controller, routed): the endpoint of `target`, please, for
    /// `requester` (``NeighbourDiscovery``).
    case lookup(target: Int, requester: Int, helper: Int)
    /// Routed to rank `to`: an endpoint it asked for, or its ring successor introducing itself.
    case introduce(to: Int, endpoint: AgentEndpoint)
    /// Parent → children, down the failed agent's subtree: a tree ancestor failed (route around it).
    case ancestorFailed(FailureNotice)
    /// Agent → controller (routed): my tree parent failed; send me the job's commands, now and from now on
    /// (launch and control commands go down the tree, and may have been lost with the parent).
    case commandSync(requester: Int)
    /// Controller → rank `to` (routed): job commands (`.launch` and `.control` messages only) it may have missed.
    case commands(to: Int, [Message])
    /// Step agent → front-end's rendezvous (agents started as one resource-manager job step): where I listen.
    case stepJoin(AgentEndpoint)
    /// Front-end's rendezvous → step agent: your boot-tree parent, listening and registered.
    case stepParent(AgentEndpoint)
    /// Step agent → front-end's rendezvous: my agent is registered; my children may dial me.
    case stepReady(rank: Int)
    /// Front-end → a node's resident agent (`vhpc agents start`): start this job's agent here, as a job step
    /// would (`configuration`: the agent's configuration line, JSON).
    case residentLaunch(configuration: String)
    /// Resident agent → front-end: the job's agent on this node exited with `status` (128 + signal if killed).
    case residentExited(status: Int32)
    /// Resident agent → the front-end starting it (`vhpc agents start`): node `node` (Slurm's name for it) listens
    /// at `endpoint`; `step` is the resident agents' Slurm step (`<job>.<step>`).
    case residentReport(node: String, step: String, endpoint: AgentEndpoint)
    /// Resident agent → front-end: what the job's agent on this node wrote on its stderr (its errors and log).
    case residentOutput(String)
    /// Front-end → resident agent: the job is over on the front-end's side (its agents were told to end); the
    /// link closes next, and the node's agent gets a grace period to exit on its own before it is signalled.
    case residentRelease

    /// Whether the payload travels to the controller (rank 0) hop by hop.
    public var isForController: Bool {
        switch self {
        case .taskExited, .launchFailed, .staged, .pmiFence, .commandSync: return true
        default: return false
        }
    }

    /// This payload as a Wire message (binary body, see `ControlPayloadCodec.swift`).
    public var message: Message {
        var body = ByteBuffer()
        encode(into: &body)
        return .agentControl(AgentControl(body: body))
    }

    /// Decodes a control payload from a Wire message, or nil if it is not one.
    public init?(message: Message) {
        guard case .agentControl(let control) = message else { return nil }
        var body = control.body
        guard let payload = ControlPayload(decoding: &body) else { return nil }
        self = payload
    }
}
