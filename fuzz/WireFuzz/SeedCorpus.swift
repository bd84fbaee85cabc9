import NIOCore
import Wire

/// The seed inputs checked in under fuzz/corpus/wire (regenerate with `WireFuzz --write-seeds DIR`).
///
/// Each input is a mode byte (see ``WireFuzzer/run(_:)``) followed by frames. No seed carries a valid
/// handshake proof: the fuzzer cannot forge one, and the handshake modes assert that it never succeeds.
enum SeedCorpus {
    static func seeds() -> [(name: String, bytes: [UInt8])] {
        let samples = sampleMessages()
        var seeds: [(String, [UInt8])] = []
        for (index, message) in samples.enumerated() {
            seeds.append(("parse-\(index)-\(message.kind)", [0] + bytes(of: [message])))
        }
        seeds.append(("parse-all-split", [6 * 7] + bytes(of: samples)))
        seeds.append(("responder-hello-badproof", [1] + bytes(of: [hello, badResponse])))
        seeds.append(("responder-wrong-job", [1] + bytes(of: [
            .hello(Hello(jobID: "other", sender: WireFuzzer.initiatorIdentity, nonce: nonce(1))),
        ])))
        seeds.append(("initiator-challenge-badwelcome", [2] + bytes(of: [challenge, badWelcome])))
        seeds.append(("initiator-error", [2] + bytes(of: [.error(ErrorMessage(code: .wrongJob, message: "no"))])))
        seeds.append(("seal-open", [3 + 6 * 20] + bytes(of: Array(samples.prefix(6)))))
        seeds.append(("pipeline-hello-bytewise", [4] + bytes(of: [hello, badResponse])))
        seeds.append(("pipeline-command-first", [4 + 6 * 15] + bytes(of: [samples[8]])))
        seeds.append(("pipeline-established-forged", [5 + 6 * 40] + bytes(of: Array(samples.suffix(4)))))
        seeds.append(("garbage-http", [4] + Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8)))
        seeds.append(("oversized-length", [0, 0x76, 0x48, 0x50, 0x43, 0x01, 0x41, 0x00, 0x01, 0x7F, 0xFF, 0xFF, 0xFF]))
        return seeds
    }

    static func nonce(_ byte: UInt8) -> Nonce { Nonce(bytes: Array(repeating: byte, count: 32))! }

    static let hello = Message.hello(Hello(jobID: WireFuzzer.jobID, sender: WireFuzzer.initiatorIdentity, nonce: nonce(0x5A)))
    static let challenge = Message.challenge(Challenge(version: .v1, sender: WireFuzzer.responderIdentity, nonce: nonce(0xA5)))
    static let badResponse = Message.response(ChallengeResponse(proof: HandshakeProof(bytes: Array(repeating: 1, count: 32))!))
    static let badWelcome = Message.welcome(Welcome(proof: HandshakeProof(bytes: Array(repeating: 2, count: 32))!))

    static func sampleMessages() -> [Message] {
        [
            hello, challenge, badResponse, badWelcome,
            .ping(Heartbeat(id: 1, timestamp: 2)),
            .pong(Heartbeat(id: 1, timestamp: 2)),
            .routeUpdate(RouteUpdate(epoch: 1, origin: 0, routes: [Route(destination: 3, nextHop: 1, hops: 2)], unreachable: [2])),
            .failureReport(FailureReport(reporter: 1, failed: 2, detector: .connectionClosed, timestamp: 3, detail: "eof")),
            .launch(LaunchCommand(id: 1, executable: "/bin/app", arguments: ["-v"],
                environment: [EnvironmentVariable(name: "A", value: "1")], workingDirectory: "/tmp", tasks: 2)),
            .control(ControlCommand(id: 2, target: .rank(1), operation: .signal(9))),
            .agentControl(AgentControl(body: ByteBuffer(string: "{}"))),
            .ioData(IOData(launchID: 1, rank: 1, stream: .stdout, sequence: 0, data: ByteBuffer(string: "line\n"))),
            .fileChunk(FileChunk(transferID: 1, offset: 0, totalLength: 8, data: ByteBuffer(string: "abcdefgh"))),
            .ack(Ack(of: .launch, id: 1)),
            .error(ErrorMessage(code: .commandFailed, reference: 1, message: "failed")),
        ]
    }

    static func bytes(of messages: [Message]) -> [UInt8] {
        var buffer = ByteBuffer()
        for message in messages { MessageCodec.frame(message).write(to: &buffer) }
        return buffer.readBytes(length: buffer.readableBytes)!
    }
}
