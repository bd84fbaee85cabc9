import Foundation
import NIOCore
import NIOPosix
import Wire

/// An agent process's first uses, made while it has nothing else to do: a resident agent's spare waiting for its
/// job (``ResidentAgentServer``) runs its listener's, a dial's and the handshake's code once over loopback with a
/// throwaway secret, and decodes a configuration, so that the Swift runtime's first-use work (type metadata,
/// protocol conformance look-ups, which scan every record of the binary) is done before the job comes, not on
/// its way to the first task. Nothing of it is kept.
public enum AgentWarmUp {
    /// Runs them; returns when done (a failure is ignored: this is only a head start).
    public static func run() async {
        let endpoint = AgentEndpoint(rank: 0, host: "127.0.0.1", port: 1, pid: getpid())
        var sample = AgentProcessConfiguration(
            jobID: "warm-up", secretHex: String(repeating: "00", count: 16), nodeCount: 2, fanout: 32, roots: [], agentsPerProcess: 1,
            hosts: ["n1", "n2"], bindHost: "0.0.0.0", heartbeatMilliseconds: 0, heartbeatTimeoutMilliseconds: 0,
            handshakeMilliseconds: 10_000, launcher: "slurm")
        sample.rendezvous = endpoint
        sample.controller = endpoint
        sample.stepRank = 1
        if let data = try? JSONEncoder().encode(sample) { _ = try? JSONDecoder().decode(AgentProcessConfiguration.self, from: data) }
        let group = MultiThreadedEventLoopGroup.singleton
        let secret = JobSecret.generate()
        let jobID = "warm-up-\(getpid())"
        guard let hub = try? await LinkHub.bind(
            group: group, host: "127.0.0.1", jobID: jobID, secret: secret, identity: PeerIdentity(rank: 1, role: .rootAgent),
            hosted: [1], handshakeWindow: .seconds(5), report: { _ in }) else { return }
        defer { hub.shutdown() }
        let handshake = Handshake.Configuration(
            role: .initiator, jobID: jobID, secret: secret, identity: PeerIdentity(rank: 2, role: .rootAgent), timeout: .seconds(5))
        let channel = try? await WireListener.dial(
            group: group, host: "127.0.0.1", port: hub.port, handshake: handshake, connectTimeout: .seconds(5), report: { _ in }
        ) { _ in RendezvousHandler { _, _ in } }.get()
        try? await channel?.close()
    }
}
