import NIOCore
import Testing
@testable import WireCore
import Wire

@Suite struct MessageCodecTests {
    @Test func samplesCoverEveryKind() {
        #expect(Set(Fixtures.messages.map(\.kind)) == Set(MessageKind.allCases))
    }

    @Test(arguments: Fixtures.messages)
    func roundTripsThroughFrameBytes(_ message: Message) throws {
        var bytes = Fixtures.bytes(MessageCodec.frame(message))
        let frame = try #require(try FrameParser().parse(&bytes))
        #expect(frame.kind == message.kind)
        #expect(try MessageCodec.message(from: frame) == message)
        #expect(bytes.readableBytes == 0)
    }

    @Test(arguments: Fixtures.messages)
    func everyTruncationIsAMalformedMessageError(_ message: Message) {
        let payload = MessageCodec.frame(message).payload
        // A launch's runtime is an optional last field (absent: processes), so a VM launch cut just before it
        // is a whole launch of processes; every other cut is an error.
        var legacyLength: Int?
        if case .launch(var launch) = message, launch.runtime != .processes {
            launch.runtime = .processes
            legacyLength = MessageCodec.frame(.launch(launch)).payload.readableBytes
        }
        for length in 0..<payload.readableBytes where length != legacyLength {
            let truncated = payload.getSlice(at: payload.readerIndex, length: length)!
            #expect(throws: WireError.self) {
                try MessageCodec.decode(kind: message.kind, payload: truncated)
            }
        }
    }

    @Test(arguments: Fixtures.messages)
    func trailingBytesAreRejected(_ message: Message) {
        var payload = MessageCodec.frame(message).payload
        payload.writeInteger(UInt8(0))
        // A link frame's carried message names itself in the reason.
        var reason = "1 trailing bytes"
        if case .link(let frame) = message, let carried = frame.message { reason = "carried \(carried.kind): " + reason }
        #expect(throws: WireError.malformedMessage(message.kind, reason: reason)) {
            try MessageCodec.decode(kind: message.kind, payload: payload)
        }
    }

    @Test func aLaunchOfProcessesIsWhatItWasBeforeLaunchesCarriedARuntime() {
        // Guest agents of images built before launches carried a runtime still read their exec: such a payload
        // ends with the task count.
        let payload = MessageCodec.frame(.launch(LaunchCommand(id: 1, executable: "true", tasks: 7))).payload
        #expect(payload.getInteger(at: payload.writerIndex - 4, as: UInt32.self) == 7)
    }

    @Test func aLinkCarriesNoHandshakeAndNoLink() {
        for kind in [MessageKind.hello, .welcome, .link] {
            var payload = ByteBuffer()
            payload.writeInteger(UInt32(1))  // link
            payload.writeInteger(UInt32(2))  // source
            payload.writeInteger(UInt32(3))  // destination
            payload.writeInteger(LinkFrame.Operation.data.rawValue)
            payload.writeInteger(kind.rawValue)
            #expect(throws: WireError.malformedMessage(.link, reason: "a link cannot carry \(kind)")) {
                try MessageCodec.decode(kind: .link, payload: payload)
            }
        }
    }

    @Test func hugeCountsFailWithoutAllocating() {
        var payload = ByteBuffer()
        payload.writeInteger(UInt64(1))  // epoch
        payload.writeInteger(UInt32(1))  // origin
        payload.writeInteger(UInt32.max)  // route count
        #expect(throws: WireError.self) { try MessageCodec.decode(kind: .routeUpdate, payload: payload) }

        var launch = ByteBuffer()
        launch.writeInteger(UInt64(1))
        CommandTarget.all.encode(into: &launch)
        launch.writeInteger(UInt32.max)  // executable length
        #expect(throws: WireError.self) { try MessageCodec.decode(kind: .launch, payload: launch) }
    }

    @Test func invalidUTF8IsRejected() {
        var payload = ByteBuffer()
        payload.writeInteger(UInt16(1))  // code
        payload.writeInteger(UInt64(0))  // reference
        payload.writeInteger(UInt32(2))
        payload.writeBytes([0xC3, 0x28])  // invalid two-byte sequence
        #expect(throws: WireError.malformedMessage(.error, reason: "message is not valid UTF-8")) {
            try MessageCodec.decode(kind: .error, payload: payload)
        }
    }

    @Test func invalidEnumerationsAndBooleansAreRejected() {
        var io = MessageCodec.frame(Fixtures.messages.first { $0.kind == .ioData }!).payload
        io.setInteger(UInt8(7), at: io.readerIndex + 16)  // stream
        #expect(throws: WireError.malformedMessage(.ioData, reason: "unknown stream 7")) {
            try MessageCodec.decode(kind: .ioData, payload: io)
        }
        io.setInteger(UInt8(1), at: io.readerIndex + 16)
        io.setInteger(UInt8(2), at: io.readerIndex + 25)  // end of stream flag
        #expect(throws: WireError.malformedMessage(.ioData, reason: "end of stream is 2, expected 0 or 1")) {
            try MessageCodec.decode(kind: .ioData, payload: io)
        }
    }

    @Test func chunkBeyondTheFileIsRejected() {
        let chunk = FileChunk(transferID: 1, offset: .max - 1, totalLength: .max, data: ByteBuffer(repeating: 1, count: 4))
        let payload = MessageCodec.frame(.fileChunk(chunk)).payload
        #expect(throws: WireError.self) { try MessageCodec.decode(kind: .fileChunk, payload: payload) }
    }

    @Test func chunkDataIsDecodedWithoutCopying() throws {
        let chunk = FileChunk(transferID: 1, offset: 0, totalLength: 1 << 20, data: ByteBuffer(repeating: 7, count: 1 << 20))
        var bytes = Fixtures.bytes(MessageCodec.frame(.fileChunk(chunk)))
        let base = bytes.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        let frame = try #require(try FrameParser().parse(&bytes))
        guard case .fileChunk(let decoded) = try MessageCodec.message(from: frame) else {
            Issue.record("not a chunk")
            return
        }
        let dataBase = decoded.data.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        #expect(dataBase == base + UInt(FrameHeader.byteCount + 8 + 8 + 8 + 32 + 4))
        #expect(decoded.isChecksumValid)
        #expect(decoded.isLast)
    }

    @Test func checksumDetectsCorruption() {
        var chunk = FileChunk(transferID: 1, offset: 0, totalLength: 3, data: ByteBuffer(string: "abc"))
        #expect(chunk.isChecksumValid)
        chunk.data = ByteBuffer(string: "abd")
        #expect(!chunk.isChecksumValid)
    }

    @Test func unknownErrorCodesSurviveARoundTrip() throws {
        let message = Message.error(ErrorMessage(code: ErrorCode(rawValue: 4242), message: "future"))
        let decoded = try MessageCodec.decode(kind: .error, payload: MessageCodec.frame(message).payload)
        #expect(decoded == message)
    }

    @Test func unsupportedVersionIsRejected() {
        #expect(throws: WireError.unsupportedVersion(2)) {
            try MessageCodec.decode(kind: .ping, payload: ByteBuffer(), version: ProtocolVersion(rawValue: 2))
        }
    }
}
