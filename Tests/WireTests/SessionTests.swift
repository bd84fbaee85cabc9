import Crypto
import NIOCore
import Testing
@testable import WireCore
import Wire

@Suite struct SessionTests {
    /// Two ends of one session: `a` seals what `b` opens and vice versa.
    static func pair() -> (a: Session, b: Session) {
        let k1 = SymmetricKey(data: Array(repeating: UInt8(1), count: 32))
        let k2 = SymmetricKey(data: Array(repeating: UInt8(2), count: 32))
        return (
            Session(sendingKey: k1, receivingKey: k2, version: .v1, peer: Fixtures.parent),
            Session(sendingKey: k2, receivingKey: k1, version: .v1, peer: Fixtures.child)
        )
    }

    @Test func sealedFramesOpenInOrder() throws {
        var (a, b) = Self.pair()
        for message in Fixtures.messages {
            let sealed = try a.seal(MessageCodec.frame(message))
            #expect(sealed.isSealed)
            var bytes = Fixtures.bytes(sealed)
            let parsed = try #require(try FrameParser().parse(&bytes))
            #expect(try MessageCodec.message(from: try b.open(parsed)) == message)
        }
        #expect(a.nextOutboundSequence == UInt64(Fixtures.messages.count))
        #expect(b.nextInboundSequence == UInt64(Fixtures.messages.count))
    }

    @Test func alteredPayloadFailsTheMAC() throws {
        var (a, b) = Self.pair()
        var frame = try a.seal(Fixtures.frame(.ping(Heartbeat(id: 1, timestamp: 2))))
        frame.payload.setInteger(UInt8(0xFF), at: frame.payload.readerIndex)
        #expect(throws: WireError.badMAC(sequence: 0)) { try b.open(frame) }
    }

    /// File-chunk data is bound by the authenticated chunk checksum, not by the frame MAC: every byte of the
    /// prefix (ids, offset, lengths, checksum) is covered; a changed data byte passes the MAC and is caught by
    /// the checksum the receiver must check. The same holds for a chunk carried on a link (`carried`), whose
    /// link header is covered too.
    @Test(arguments: [false, true])
    func fileChunkMACCoversThePrefixAndTheChecksumBindsTheData(carried: Bool) throws {
        let chunk = FileChunk(transferID: 9, offset: 4096, totalLength: 1 << 20, data: ByteBuffer(repeating: 0x5A, count: 4096))
        let message: Message = carried
            ? .link(LinkFrame(link: 4, source: 1, destination: 2, operation: .data, message: .fileChunk(chunk))) : .fileChunk(chunk)
        let prefix = (carried ? LinkFrame.headerLength : 0) + FileChunk.authenticatedPrefixLength
        // The MAC's prefix is exactly the fields before the data: everything but the data is covered.
        #expect(MessageCodec.frame(message).payload.readableBytes - chunk.data.readableBytes == prefix)
        for index in [0, 8, 13, 16, 24, 40, prefix - 1] {
            var (a, b) = Self.pair()
            var frame = try a.seal(MessageCodec.frame(message))
            frame.payload.setInteger(frame.payload.getInteger(at: frame.payload.readerIndex + index, as: UInt8.self)! ^ 1,
                                     at: frame.payload.readerIndex + index)
            #expect(throws: WireError.badMAC(sequence: 0), "byte \(index) of the prefix") { try b.open(frame) }
        }
        var (a, b) = Self.pair()
        var frame = try a.seal(MessageCodec.frame(message))
        frame.payload.setInteger(UInt8(0xA5), at: frame.payload.readerIndex + prefix + 100)
        var received = try MessageCodec.message(from: try b.open(frame))
        if case .link(let link) = received, let inner = link.message { received = inner }
        guard case .fileChunk(let receivedChunk) = received else {
            Issue.record("not a file chunk")
            return
        }
        #expect(!receivedChunk.isChecksumValid)
        #expect(chunk.isChecksumValid)
    }

    @Test func alteredHeaderFailsTheMAC() throws {
        var (a, b) = Self.pair()
        var frame = try a.seal(Fixtures.frame(.ping(Heartbeat(id: 1, timestamp: 2))))
        frame.header.kind = .pong
        #expect(throws: WireError.badMAC(sequence: 0)) { try b.open(frame) }
    }

    @Test func forgedSequenceNumberFailsTheMAC() throws {
        var (a, b) = Self.pair()
        var frame = try a.seal(Fixtures.frame(.ping(Heartbeat(id: 1, timestamp: 2))))
        frame.header.sequence = 1
        #expect(throws: WireError.badMAC(sequence: 1)) { try b.open(frame) }
    }

    @Test func replayedFrameIsDetected() throws {
        var (a, b) = Self.pair()
        let frame = try a.seal(Fixtures.frame(.control(ControlCommand(id: 1, operation: .terminate))))
        _ = try b.open(frame)
        #expect(throws: WireError.sequenceMismatch(expected: 1, received: 0)) { try b.open(frame) }
    }

    @Test func reorderedAndDroppedFramesAreDetected() throws {
        var (a, b) = Self.pair()
        let first = try a.seal(Fixtures.frame(.ping(Heartbeat(id: 1, timestamp: 0))))
        let second = try a.seal(Fixtures.frame(.ping(Heartbeat(id: 2, timestamp: 0))))
        _ = first
        #expect(throws: WireError.sequenceMismatch(expected: 0, received: 1)) { try b.open(second) }
    }

    @Test func reflectedFrameFailsTheMAC() throws {
        var (a, _) = Self.pair()
        let frame = try a.seal(Fixtures.frame(.ping(Heartbeat(id: 1, timestamp: 0))))
        #expect(throws: WireError.badMAC(sequence: 0)) { try a.open(frame) }
    }

    @Test func unsealedFrameIsRejected() {
        var (_, b) = Self.pair()
        #expect(throws: WireError.missingMAC(.ping)) { try b.open(Fixtures.frame(.ping(Heartbeat(id: 1, timestamp: 0)))) }
    }

    @Test func macIsTheTruncatedHMACOfHeaderAndPayload() throws {
        let key = SymmetricKey(data: Array(repeating: UInt8(1), count: 32))
        var (a, _) = Self.pair()
        let frame = try a.seal(Frame(kind: .ack, payload: ByteBuffer(string: "x")))
        var covered = Fixtures.bytes(frame)
        covered.moveWriterIndex(to: covered.writerIndex - FrameMAC.byteCount)
        let expected = covered.withUnsafeReadableBytes { Array(HMAC<SHA256>.authenticationCode(for: $0, using: key)) }
        var mac = ByteBuffer()
        mac.writeInteger(frame.mac!.high)
        mac.writeInteger(frame.mac!.low)
        #expect(mac.readBytes(length: 16) == Array(expected.prefix(16)))
    }
}
