import NIOCore
import Testing
@testable import WireCore
import Wire

@Suite struct FrameParserTests {
    let parser = FrameParser()

    @Test func headerLayoutIsAsDocumented() {
        var bytes = Fixtures.bytes(Frame(kind: .ping, payload: ByteBuffer(bytes: [1, 2, 3]), sequence: 0x0102))
        #expect(bytes.readBytes(length: 20) == [
            0x76, 0x48, 0x50, 0x43,  // magic
            0x01,  // version
            0x10,  // kind: ping
            0x00, 0x00,  // flags
            0x00, 0x00, 0x00, 0x03,  // length
            0, 0, 0, 0, 0, 0, 0x01, 0x02,  // sequence
        ])
        #expect(bytes.readBytes(length: 3) == [1, 2, 3])
        #expect(bytes.readableBytes == 0)
    }

    @Test func roundTripsUnsealedAndSealedFrames() throws {
        let unsealed = Frame(kind: .ack, payload: ByteBuffer(string: "payload"), sequence: 9)
        let sealed = Frame(kind: .ioData, payload: ByteBuffer(string: "data"), sequence: 1, mac: FrameMAC(high: 1, low: 2))
        var bytes = Fixtures.bytes(unsealed)
        var second = Fixtures.bytes(sealed)
        bytes.writeBuffer(&second)
        #expect(try parser.parse(&bytes) == unsealed)
        #expect(try parser.parse(&bytes) == sealed)
        #expect(try parser.parse(&bytes) == nil)
    }

    @Test func everyProperPrefixNeedsMoreDataAndConsumesNothing() throws {
        let whole = Fixtures.bytes(Frame(kind: .ioData, payload: ByteBuffer(string: "abc"), mac: FrameMAC(high: 3, low: 4)))
        for length in 0..<whole.readableBytes {
            var prefix = whole.getSlice(at: 0, length: length)!
            #expect(try parser.parse(&prefix) == nil)
            #expect(prefix.readableBytes == length)
        }
    }

    @Test func rejectsBadMagicFromItsFirstFourBytes() {
        var bytes = ByteBuffer(bytes: [0x47, 0x45, 0x54, 0x20])  // "GET "
        #expect(throws: WireError.badMagic(0x4745_5420)) { try parser.parse(&bytes) }
    }

    @Test func rejectsUnsupportedVersion() {
        var bytes = Fixtures.bytes(Frame(kind: .ping, payload: ByteBuffer()))
        bytes.setInteger(UInt8(9), at: 4)
        #expect(throws: WireError.unsupportedVersion(9)) { try parser.parse(&bytes) }
    }

    @Test func rejectsUnknownKind() {
        var bytes = Fixtures.bytes(Frame(kind: .ping, payload: ByteBuffer()))
        bytes.setInteger(UInt8(0xEE), at: 5)
        #expect(throws: WireError.unknownKind(0xEE)) { try parser.parse(&bytes) }
    }

    @Test func rejectsUnknownFlags() {
        var bytes = Fixtures.bytes(Frame(kind: .ping, payload: ByteBuffer()))
        bytes.setInteger(UInt16(0x8000), at: 6)
        #expect(throws: WireError.unknownFlags(0x8000)) { try parser.parse(&bytes) }
    }

    @Test func rejectsOversizedLengthBeforeThePayloadArrives() {
        let parser = FrameParser(limits: FrameLimits(maxPayloadLength: 1024))
        var header = ByteBuffer()
        FrameHeader(kind: .fileChunk, length: 1025).write(to: &header)
        var firstTwelve = header.getSlice(at: 0, length: 12)!
        #expect(throws: WireError.frameTooLarge(length: 1025, limit: 1024)) { try parser.parse(&firstTwelve) }

        var huge = ByteBuffer()
        FrameHeader(kind: .fileChunk, length: .max).write(to: &huge)
        #expect(throws: WireError.frameTooLarge(length: Int(UInt32.max), limit: 1024)) { try parser.parse(&huge) }
    }

    @Test func acceptsAPayloadOfExactlyTheLimit() throws {
        let parser = FrameParser(limits: FrameLimits(maxPayloadLength: 1024))
        var bytes = Fixtures.bytes(Frame(kind: .fileChunk, payload: ByteBuffer(repeating: 1, count: 1024)))
        #expect(try parser.parse(&bytes)?.payload.readableBytes == 1024)
    }

    @Test func limitsAreClampedToTheAbsoluteMaximum() {
        #expect(FrameLimits(maxPayloadLength: .max).maxPayloadLength == FrameLimits.absoluteMaxPayloadLength)
        #expect(FrameLimits(maxPayloadLength: -5).maxPayloadLength == 0)
    }

    @Test func payloadIsASliceOfTheInputNotACopy() throws {
        var bytes = Fixtures.bytes(Frame(kind: .ioData, payload: ByteBuffer(string: "zero-copy")))
        let inputBase = bytes.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        let frame = try #require(try parser.parse(&bytes))
        let payloadBase = frame.payload.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        #expect(payloadBase == inputBase + UInt(FrameHeader.byteCount))
    }
}
