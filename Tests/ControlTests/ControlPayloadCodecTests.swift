import Control
import NIOCore
import Testing
import Wire

@Suite struct ControlPayloadCodecTests {
    static let endpoints = (0..<5).map { AgentEndpoint(rank: $0, host: "10.0.0.\($0)", port: 40_000 + $0, pid: Int32(100 + $0)) }
    static let payloads: [ControlPayload] = [
        .subtreeReady(endpoints: endpoints, failed: [FailureNotice(rank: 3, reporter: 1, detector: .heartbeatTimeout, detail: "silent for 2.5 s — ünïcode")]),
        .subtreeReady(endpoints: [], failed: []),
        .addressTable(endpoints: endpoints, failed: [7, 9]),
        .subtreeWired(count: 1023),
        .taskExited(node: 2, task: 5, status: -1, message: ""),
        .taskExited(node: 2, task: 6, status: 0, message: "", output: OutputCounts(stdout: 7, stderr: 0)),
        .launchFailed(node: 4, message: "command not found: x"),
        .stageOffer(StagingOffer(transferID: 7, size: 1 << 30, sha256: String(repeating: "ab", count: 32), target: .job(index: 0, path: "in.dat"))),
        .stageResend(transferID: 7, offset: 1 << 20),
        .stageDetach(transferID: 7),
        .staged(StagingReport(node: 3, transferID: 7, outcome: .staged, detail: "/x/y")),
        .pmiFence(node: 2, epoch: 0, entries: [PMIEntry(key: "P0-businesscard", value: "description#vm$port#5000$"), PMIEntry(key: "k", value: "")]),
        .pmiFence(node: 1, epoch: 3, entries: []),
        .pmiRelease(epoch: 1, entries: [PMIEntry(key: "a", value: "1"), PMIEntry(key: "b", value: "2")]),
        .residentLaunch(configuration: #"{"jobID":"job-1","secretHex":"ab"}"#),
        .residentExited(status: 137),
        .residentExited(status: -1),
        .residentRelease,
        .residentReport(node: "n2", step: "301.4", endpoint: AgentEndpoint(rank: 2, host: "10.250.13.12", port: 40123, pid: 77)),
        .residentOutput("vhpc-agent: no route\n"),
        .commandSync(requester: 12),
        .commands(to: 9, [.launch(LaunchCommand(id: 1, executable: "a.out", tasks: 4)), .control(ControlCommand(id: 2, operation: .signal(15)))]),
        .commands(to: 3, []),
    ]

    @Test(arguments: payloads)
    func roundTripsThroughAWireMessage(_ payload: ControlPayload) {
        #expect(ControlPayload(message: payload.message) == payload)
    }

    @Test(arguments: payloads)
    func everyTruncationAndTrailingByteIsRejected(_ payload: ControlPayload) {
        guard case .agentControl(let control) = payload.message else { Issue.record("not agentControl"); return }
        let bytes = Array(control.body.readableBytesView)
        for length in 0..<bytes.count {
            let truncated = Message.agentControl(AgentControl(body: ByteBuffer(bytes: bytes.prefix(length))))
            #expect(ControlPayload(message: truncated) == nil, "accepted \(length) of \(bytes.count) bytes")
        }
        let padded = Message.agentControl(AgentControl(body: ByteBuffer(bytes: bytes + [0])))
        #expect(ControlPayload(message: padded) == nil)
    }

    /// The commands the controller sends an agent whose parent failed carry launch and control messages only:
    /// any other message inside is refused.
    @Test func commandsOtherThanLaunchAndControlAreRefused() {
        var inner = ByteBuffer()
        MessageCodec.encode(.ping(Heartbeat(id: 1, timestamp: 2)), into: &inner)
        var body = ByteBuffer()
        body.writeInteger(UInt8(24))  // commands
        body.writeInteger(Int64(4))
        body.writeInteger(UInt32(1))
        body.writeInteger(MessageKind.ping.rawValue)
        body.writeWireBuffer(inner)
        #expect(ControlPayload(message: .agentControl(AgentControl(body: body))) == nil)
        var launch = ByteBuffer()
        MessageCodec.encode(.launch(LaunchCommand(id: 1, executable: "x")), into: &launch)
        var good = ByteBuffer()
        good.writeInteger(UInt8(24))
        good.writeInteger(Int64(4))
        good.writeInteger(UInt32(1))
        good.writeInteger(MessageKind.launch.rawValue)
        good.writeWireBuffer(launch)
        #expect(ControlPayload(message: .agentControl(AgentControl(body: good))) == .commands(to: 4, [.launch(LaunchCommand(id: 1, executable: "x"))]))
    }

    @Test func aHostNameThatIsNotUTF8IsRefused() {
        func table(host: [UInt8]) -> ControlPayload? {
            var body = ByteBuffer()
            body.writeInteger(UInt8(2))  // address table
            body.writeInteger(UInt32(1))  // one host
            body.writeInteger(UInt32(host.count))
            body.writeBytes(host)
            body.writeInteger(UInt32(1))  // one endpoint
            body.writeInteger(Int64(1))
            body.writeInteger(UInt32(0))  // host index
            body.writeInteger(Int64(4000))
            body.writeInteger(Int32(42))
            body.writeInteger(UInt32(0))  // no failed ranks
            return ControlPayload(message: .agentControl(AgentControl(body: body)))
        }
        #expect(table(host: Array("node1".utf8)) != nil)
        #expect(table(host: [0x6E, 0xFF, 0xFE]) == nil)
    }

    @Test func endpointsShareTheirHostsAndABadHostIndexIsRefused() {
        let endpoints = (1...64).map { AgentEndpoint(rank: $0, host: $0 <= 32 ? "10.0.0.1" : "10.0.0.2", port: 4000 + $0, pid: 7) }
        let message = ControlPayload.addressTable(endpoints: endpoints, failed: [9]).message
        #expect(ControlPayload(message: message) == .addressTable(endpoints: endpoints, failed: [9]))
        guard case .agentControl(let control) = message else { Issue.record("not agent control"); return }
        // Two hosts, written once each: well under a host string per endpoint.
        #expect(control.body.readableBytes < 64 * 24 + 64)

        var body = ByteBuffer()
        body.writeInteger(UInt8(2))  // address table
        body.writeInteger(UInt32(0))  // no hosts
        body.writeInteger(UInt32(1))  // one endpoint
        body.writeInteger(Int64(1))
        body.writeInteger(UInt32(0))  // host index: there is none
        body.writeInteger(Int64(4000))
        body.writeInteger(Int32(42))
        body.writeInteger(UInt32(0))
        #expect(ControlPayload(message: .agentControl(AgentControl(body: body))) == nil)
    }

    @Test func aHugeCountCannotMakeTheDecoderAllocate() {
        var body = ByteBuffer()
        body.writeInteger(UInt8(2))  // address table
        body.writeInteger(UInt32.max)
        #expect(ControlPayload(message: .agentControl(AgentControl(body: body))) == nil)
    }
}

extension ControlPayloadCodecTests {
    /// Control payloads are read with WireCore's bounded codec, canonically: a body that decodes re-encodes to
    /// the same bytes (what the control fuzzer checks on every input), so hosts listed twice or never used,
    /// and staging offers with a chunk size or mode the encoder never writes, are refused.
    @Test func decodingIsCanonical() {
        for payload in Self.payloads {
            guard case .agentControl(let control) = payload.message,
                  let decoded = ControlPayload(message: payload.message),
                  case .agentControl(let again) = decoded.message else { Issue.record("\(payload)"); continue }
            #expect(again.body == control.body, "\(payload)")
        }
        func table(hosts: [String], indices: [UInt32]) -> ControlPayload? {
            var body = ByteBuffer()
            body.writeInteger(UInt8(2))
            body.writeWireCount(hosts.count)
            for host in hosts { body.writeWireString(host) }
            body.writeWireCount(indices.count)
            for (rank, index) in indices.enumerated() {
                body.writeInteger(Int64(rank))
                body.writeInteger(index)
                body.writeInteger(Int64(4000))
                body.writeInteger(Int32(42))
            }
            body.writeWireCount(0)
            return ControlPayload(message: .agentControl(AgentControl(body: body)))
        }
        #expect(table(hosts: ["a", "b"], indices: [0, 1, 0]) != nil)
        #expect(table(hosts: ["a", "a"], indices: [0, 1]) == nil, "a host listed twice")
        #expect(table(hosts: ["a", "b"], indices: [0, 0]) == nil, "a host no endpoint uses")
        #expect(table(hosts: ["a", "b"], indices: [1, 0]) == nil, "hosts out of order of first use")
        let offer = StagingOffer(transferID: 1, size: 10, sha256: "00", chunkSize: 4096, target: .job(index: 0, path: "f"))
        guard case .agentControl(let control) = ControlPayload.stageOffer(offer).message else { return }
        var bytes = Array(control.body.readableBytesView)
        let chunkSizeAt = 1 + 8 + 8 + 4 + 2 + 7  // tag, id, size, sha256 (length, 2 bytes), low byte of the chunk size
        bytes[chunkSizeAt] = 1  // 4097: not whole SHA-256 blocks
        #expect(ControlPayload(message: .agentControl(AgentControl(body: ByteBuffer(bytes: bytes)))) == nil)
    }
}
