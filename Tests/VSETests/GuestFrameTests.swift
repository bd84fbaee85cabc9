import GuestProtocol
import Testing

@Suite struct GuestFrameTests {
    static let samples: [GuestMessage] = [
        .hello(protocolVersion: 1),
        .ready(GuestInfo(kernelRelease: "6.1.0-56-cloud-amd64", hostname: "vm-1", vseName: "tiny", agentVersion: "1", counter: 42)),
        .exec(id: 7, argv: ["sh", "-c", "echo ü"], environment: ["A=1", "B="], workingDirectory: "/tmp"),
        .stdin(id: 7, bytes: [1, 2, 3]),
        .stdin(id: 7, bytes: []),
        .signal(id: 7, signal: 15),
        .output(id: 7, stream: .stderr, bytes: Array("err\n".utf8)),
        .exited(id: 7, status: -1),
        .execFailed(id: 9, reason: "nope: No such file or directory"),
        .statusRequest,
        .status(counter: UInt64.max, uptimeMilliseconds: 12),
        .shutdown(reboot: true),
    ]

    @Test func everyMessageRoundTrips() throws {
        for message in Self.samples {
            var decoder = GuestFrameDecoder()
            decoder.append(GuestFrame.encode(message))
            #expect(try decoder.next() == message)
            #expect(try decoder.next() == nil)
        }
    }

    @Test func byteByByteAndConcatenated() throws {
        let stream = Self.samples.flatMap(GuestFrame.encode)
        var decoder = GuestFrameDecoder()
        var decoded: [GuestMessage] = []
        for byte in stream {
            decoder.append([byte])
            while let message = try decoder.next() { decoded.append(message) }
        }
        #expect(decoded == Self.samples)
        #expect(decoder.bufferedByteCount == 0)
    }

    @Test func rejectsBadMagicVersionKindAndLength() {
        var frame = GuestFrame.encode(.statusRequest)
        frame[0] = 0x00
        #expect(throws: GuestFrameError.badMagic) { var d = GuestFrameDecoder(); d.append(frame); _ = try d.next() }

        frame = GuestFrame.encode(.statusRequest)
        frame[2] = 9
        #expect(throws: GuestFrameError.unsupportedVersion(9)) { var d = GuestFrameDecoder(); d.append(frame); _ = try d.next() }

        frame = GuestFrame.encode(.statusRequest)
        frame[3] = 200
        #expect(throws: GuestFrameError.unknownKind(200)) { var d = GuestFrameDecoder(); d.append(frame); _ = try d.next() }

        // A huge length is refused from the header alone, before any payload arrives.
        let header: [UInt8] = [0x56, 0x47, 1, 6, 0x7f, 0xff, 0xff, 0xff]
        #expect(throws: GuestFrameError.oversized(0x7fff_ffff)) { var d = GuestFrameDecoder(); d.append(header); _ = try d.next() }
    }

    @Test func truncatedAndTrailingPayloadsAreMalformed() {
        // An exec whose argv count claims more strings than the payload can hold.
        let bogus: [UInt8] = [0x56, 0x47, 1, 3, 0, 0, 0, 8, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff]
        #expect(throws: GuestFrameError.self) { var d = GuestFrameDecoder(); d.append(bogus); _ = try d.next() }
        var trailing = GuestFrame.encode(.statusRequest)
        trailing[7] = 1
        trailing.append(0)
        #expect(throws: GuestFrameError.self) { var d = GuestFrameDecoder(); d.append(trailing); _ = try d.next() }
    }
}
