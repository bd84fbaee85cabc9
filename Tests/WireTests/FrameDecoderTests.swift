import NIOCore
import NIOEmbedded
import NIOTestUtils
import Testing
@testable import WireCore
import Wire

@Suite struct FrameDecoderTests {
    @Test func verifierAcceptsEveryMessageByteByByteWholeAndShuffled() throws {
        let pairs = Fixtures.messages.map { message -> (ByteBuffer, [Frame]) in
            let frame = MessageCodec.frame(message)
            return (Fixtures.bytes(frame), [frame])
        }
        try ByteToMessageDecoderVerifier.verifyDecoder(inputOutputPairs: pairs) { FrameDecoder() }
    }

    @Test func verifierAcceptsSealedFramesAndSeveralFramesPerInput() throws {
        var (a, _) = SessionTests.pair()
        var pairs: [(ByteBuffer, [Frame])] = []
        for chunk in stride(from: 0, to: Fixtures.messages.count, by: 3) {
            var bytes = ByteBuffer()
            var expected: [Frame] = []
            for message in Fixtures.messages[chunk..<min(chunk + 3, Fixtures.messages.count)] {
                let sealed = try a.seal(MessageCodec.frame(message))
                sealed.write(to: &bytes)
                expected.append(sealed)
            }
            pairs.append((bytes, expected))
        }
        try ByteToMessageDecoderVerifier.verifyDecoder(inputOutputPairs: pairs) { FrameDecoder() }
    }

    @Test func encoderWritesWhatTheDecoderReads() throws {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(MessageToByteHandler(FrameEncoder()))
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder()))
        for message in Fixtures.messages {
            let frame = MessageCodec.frame(message)
            try channel.writeOutbound(frame)
            let bytes = try #require(try channel.readOutbound(as: ByteBuffer.self))
            try channel.writeInbound(bytes)
            #expect(try channel.readInbound(as: Frame.self) == frame)
        }
        #expect(try channel.finish().isClean)
    }

    @Test func decoderErrorIsFiredThroughThePipeline() throws {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder()))
        #expect(throws: WireError.badMagic(0)) { try channel.writeInbound(ByteBuffer(bytes: [0, 0, 0, 0])) }
    }
}
