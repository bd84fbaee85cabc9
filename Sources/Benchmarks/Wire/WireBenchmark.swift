import Crypto
import Foundation
import NIOCore
import Wire
import WireCore

/// Throughput of the codec and the MAC on one core, for `vhpc bench wire`.
///
/// Every case runs on the calling thread, repeating its operation until ``minimumDuration`` has passed. Cases
/// named "encode+decode" cover message → frame → bytes → frame → message; "sealed" adds the session MAC and
/// its verification, exactly as the channel handlers do it.
public struct WireBenchmark: Sendable {
    /// One measured case.
    public struct Result: Sendable {
        public var name: String
        /// Operations (messages or hashes) completed.
        public var operations: Int
        /// Payload bytes processed per operation (0 for message-rate cases).
        public var bytesPerOperation: Int
        public var elapsed: Duration

        public var seconds: Double {
            Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        }
        public var operationsPerSecond: Double { Double(operations) / seconds }
        /// Payload throughput in bytes per second (0 for message-rate cases).
        public var bytesPerSecond: Double { Double(operations * bytesPerOperation) / seconds }
    }

    public var minimumDuration: Duration
    /// Size of the file chunks and of the raw hash runs.
    public var chunkSize: Int

    public init(minimumDuration: Duration = .seconds(1), chunkSize: Int = 1 << 20) {
        self.minimumDuration = minimumDuration
        self.chunkSize = chunkSize
    }

    /// The names of ``run(_:)``'s cases, in order.
    public static let caseNames = [
        "ping encode+decode", "ping encode+decode sealed",
        "I/O line encode+decode", "I/O line encode+decode sealed",
        "chunk encode+seal", "chunk open+decode", "chunk round trip sealed",
        "chunk round trip unsealed",
        "HMAC-SHA256", "SHA-256", "AES-GCM-128 GMAC (comparison)", "ChaChaPoly (comparison)",
    ]

    /// Runs every case, calling `progress` with each result as it completes.
    public func run(_ progress: (Result) -> Void = { _ in }) -> [Result] {
        var results: [Result] = []
        func record(_ result: Result) {
            results.append(result)
            progress(result)
        }
        let ping = Message.ping(Heartbeat(id: 1, timestamp: 1_700_000_000_000_000_000))
        let line = Message.ioData(IOData(
            launchID: 1, rank: 17, task: 3, stream: .stdout, sequence: 12_345,
            data: ByteBuffer(string: "rank 17: iteration 12345 residual 3.1415926e-07 elapsed 12.345 s (ok)\n")))
        var data = ByteBuffer()
        data.writeBytes((0..<chunkSize).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) })
        let chunk = Message.fileChunk(FileChunk(
            transferID: 1, offset: 0, totalLength: UInt64(chunkSize), checksum: .none, data: data))

        record(measure("ping encode+decode", bytes: 0) { roundTrip(ping, sealed: false) })
        record(measure("ping encode+decode sealed", bytes: 0) { roundTrip(ping, sealed: true) })
        record(measure("I/O line encode+decode", bytes: 0) { roundTrip(line, sealed: false) })
        record(measure("I/O line encode+decode sealed", bytes: 0) { roundTrip(line, sealed: true) })
        record(encodeSealChunk(chunk))
        record(openDecodeChunk(chunk))
        record(measure("chunk round trip sealed", bytes: chunkSize) { roundTrip(chunk, sealed: true) })
        record(measure("chunk round trip unsealed", bytes: chunkSize) { roundTrip(chunk, sealed: false) })
        record(rawHMAC(data))
        record(rawSHA256(data))
        record(rawGMAC(data))
        record(rawChaChaPoly(data))
        return results
    }

    // MARK: Cases

    /// State shared by the codec cases: a session pair and reusable buffers.
    private final class Link {
        var sender: Session
        var receiver: Session
        var wire = ByteBufferAllocator().buffer(capacity: 2 << 20)
        let parser = FrameParser()

        init() {
            let keyA = SymmetricKey(size: .bits256)
            let keyB = SymmetricKey(size: .bits256)
            let peer = PeerIdentity(rank: 1, role: .rootAgent)
            sender = Session(sendingKey: keyA, receivingKey: keyB, version: .current, peer: peer)
            receiver = Session(sendingKey: keyB, receivingKey: keyA, version: .current, peer: peer)
        }
    }

    private func roundTrip(_ message: Message, sealed: Bool) -> () -> UInt64 {
        let link = Link()
        return {
            var frame = MessageCodec.frame(message)
            if sealed { frame = try! link.sender.seal(frame) }
            link.wire.clear()
            frame.write(to: &link.wire)
            var received = try! link.parser.parse(&link.wire)!
            if sealed { received = try! link.receiver.open(received) }
            let decoded = try! MessageCodec.message(from: received)
            return decoded.kind == message.kind ? UInt64(received.header.length) : 0
        }
    }

    private func encodeSealChunk(_ chunk: Message) -> Result {
        let link = Link()
        return measure("chunk encode+seal", bytes: chunkSize) {
            {
                let frame = try! link.sender.seal(MessageCodec.frame(chunk))
                link.wire.clear()
                frame.write(to: &link.wire)
                return UInt64(link.wire.readableBytes)
            }
        }
    }

    private func openDecodeChunk(_ chunk: Message) -> Result {
        let link = Link()
        var wire = ByteBuffer()
        try! link.sender.seal(MessageCodec.frame(chunk)).write(to: &wire)
        let fresh = link.receiver  // a session value expecting frame 0, copied for every run
        return measure("chunk open+decode", bytes: chunkSize) {
            {
                var bytes = wire
                var receiver = fresh
                let frame = try! receiver.open(link.parser.parse(&bytes)!)
                guard case .fileChunk(let decoded) = try! MessageCodec.message(from: frame) else { return 0 }
                return UInt64(decoded.data.readableBytes)
            }
        }
    }

    private func rawHMAC(_ data: ByteBuffer) -> Result {
        let key = SymmetricKey(size: .bits256)
        return measure("HMAC-SHA256", bytes: data.readableBytes) {
            {
                data.withUnsafeReadableBytes { HMAC<SHA256>.authenticationCode(for: $0, using: key).withUnsafeBytes { UInt64($0[0]) } }
            }
        }
    }

    private func rawSHA256(_ data: ByteBuffer) -> Result {
        measure("SHA-256", bytes: data.readableBytes) {
            {
                data.withUnsafeReadableBytes { SHA256.hash(data: $0).withUnsafeBytes { UInt64($0[0]) } }
            }
        }
    }

    private func rawGMAC(_ data: ByteBuffer) -> Result {
        let key = SymmetricKey(size: .bits128)
        let empty: [UInt8] = []
        return measure("AES-GCM-128 GMAC (comparison)", bytes: data.readableBytes) {
            {
                data.withUnsafeReadableBytes { bytes in
                    let box = try! AES.GCM.seal(empty, using: key, authenticating: bytes)
                    return UInt64(box.tag.first!)
                }
            }
        }
    }

    private func rawChaChaPoly(_ data: ByteBuffer) -> Result {
        let key = SymmetricKey(size: .bits256)
        let empty: [UInt8] = []
        return measure("ChaChaPoly (comparison)", bytes: data.readableBytes) {
            {
                data.withUnsafeReadableBytes { bytes in
                    let box = try! ChaChaPoly.seal(empty, using: key, authenticating: bytes)
                    return UInt64(box.tag.first!)
                }
            }
        }
    }

    // MARK: Timing

    /// Runs the operation made by `make` in growing batches until ``minimumDuration`` has passed.
    private func measure(_ name: String, bytes: Int, _ make: () -> () -> UInt64) -> Result {
        let operation = make()
        var sink: UInt64 = 0
        for _ in 0..<3 { sink &+= operation() }  // warm up
        let clock = ContinuousClock()
        var operations = 0
        var batch = 1
        let start = clock.now
        var elapsed = Duration.zero
        while elapsed < minimumDuration {
            for _ in 0..<batch { sink &+= operation() }
            operations += batch
            elapsed = clock.now - start
            if elapsed < minimumDuration / 10 { batch *= 2 }
        }
        precondition(sink != 0x7FFF_FFFF_FFFF_FFFF)  // keeps the work observable
        return Result(name: name, operations: operations, bytesPerOperation: bytes, elapsed: elapsed)
    }
}
