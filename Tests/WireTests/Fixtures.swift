import NIOCore
@testable import WireCore
import Wire

/// Shared values for the Wire tests.
enum Fixtures {
    static let secret = JobSecret(bytes: Array(0..<32))!
    static let otherSecret = JobSecret(bytes: Array(100..<132))!
    static let jobID = "job-42"
    static let parent = PeerIdentity(rank: 0, role: .rootAgent)
    static let child = PeerIdentity(rank: 3, role: .rootAgent)

    static func nonce(_ seed: UInt8) -> Nonce {
        Nonce(bytes: (0..<32).map { UInt8(truncatingIfNeeded: Int(seed) &* 31 &+ $0) })!
    }

    static func configuration(
        _ role: Handshake.Role,
        nonce: UInt8,
        secret: JobSecret = Fixtures.secret,
        jobID: String = Fixtures.jobID,
        expectedPeer: PeerIdentity? = nil,
        versions: ClosedRange<ProtocolVersion> = ProtocolVersion.supported
    ) -> Handshake.Configuration {
        Handshake.Configuration(
            role: role,
            jobID: jobID,
            secret: secret,
            identity: role == .initiator ? child : parent,
            expectedPeer: expectedPeer,
            timeout: .seconds(5),
            versions: versions,
            nonceSource: .fixed(self.nonce(nonce))
        )
    }

    static func buffer(_ string: String) -> ByteBuffer {
        ByteBuffer(string: string)
    }

    /// One sample of every message kind, with non-trivial field values.
    static let messages: [Message] = [
        .hello(Hello(jobID: "job-42", sender: child, nonce: nonce(1))),
        .challenge(Challenge(version: .v1, sender: parent, nonce: nonce(2))),
        .challenge(Challenge(version: .v1, sender: PeerIdentity(rank: 7, role: .toolAgent, index: 2), nonce: nonce(3))),
        .response(ChallengeResponse(proof: HandshakeProof(bytes: Array(repeating: 0xAB, count: 32))!)),
        .welcome(Welcome(proof: HandshakeProof(bytes: Array(repeating: 0xCD, count: 32))!)),
        .ping(Heartbeat(id: 7, timestamp: 1_700_000_000_123_456_789)),
        .pong(Heartbeat(id: .max, timestamp: 0)),
        .routeUpdate(RouteUpdate(
            epoch: 3, origin: 1,
            routes: [Route(destination: 5, nextHop: 2, hops: 2), Route(destination: 9, nextHop: 1, hops: 1)],
            unreachable: [4, 6])),
        .failureReport(FailureReport(reporter: 2, failed: 4, detector: .heartbeatTimeout, timestamp: 99, detail: "3 pings lost")),
        .launch(LaunchCommand(
            id: 11, target: .all, executable: "/usr/bin/mpi-app", arguments: ["-n", "4", "ünïcødé ✓"],
            environment: [EnvironmentVariable(name: "OMP_NUM_THREADS", value: "2")],
            workingDirectory: "/scratch/job-42", tasks: 4)),
        .launch(LaunchCommand(
            id: 14, executable: "hostname", tasks: 2,
            runtime: .vms(VMJobSpec(imageID: "0123abcd", hypervisor: "libvirt", vcpus: 2, memoryBytes: 384 << 20, snapshots: false)))),
        .control(ControlCommand(id: 12, target: .rank(3), operation: .signal(15))),
        .control(ControlCommand(id: 13, operation: .migrate(toRank: 8))),
        .agentControl(AgentControl(body: ByteBuffer(string: "{\"subtreeWired\":{\"count\":3}}"))),
        .ioData(IOData(launchID: 11, rank: 3, task: 1, stream: .stderr, sequence: 42, data: buffer("hello, world\n"))),
        .ioData(IOData(launchID: 11, rank: 3, stream: .stdout, sequence: 43, isEndOfStream: true, data: ByteBuffer())),
        .fileChunk(FileChunk(transferID: 5, offset: 4096, totalLength: 8192, data: ByteBuffer(repeating: 0x5A, count: 4096))),
        .ack(Ack(of: .fileChunk, id: 5, position: 8192)),
        .error(ErrorMessage(code: .commandFailed, reference: 12, message: "no such process")),
        .link(LinkFrame(link: 7, source: 3, destination: 12, operation: .open)),
        .link(LinkFrame(link: 7, source: 12, destination: 3, operation: .data,
                        message: .ioData(IOData(launchID: 11, rank: 12, stream: .stdout, sequence: 1, data: buffer("on a link\n"))))),
        .link(LinkFrame(link: 7, source: 3, destination: 12, operation: .close)),
    ]

    static func frame(_ message: Message) -> Frame {
        MessageCodec.frame(message)
    }

    static func bytes(_ frame: Frame) -> ByteBuffer {
        var buffer = ByteBuffer()
        frame.write(to: &buffer)
        return buffer
    }
}
