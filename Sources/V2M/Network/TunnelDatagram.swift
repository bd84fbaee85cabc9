import Crypto
import Foundation
import NIOCore

/// The job network's tunnel datagram: a 24-byte header, an Ethernet frame (or nothing, for the port
/// discovery hellos), and a 16-byte HMAC-SHA256 over both under the job's network key.
///
/// Header: magic `VH`, version 2, kind, job tag, sender and receiver agent ranks, a 64-bit sequence number
/// per sender (checked against a ``ReplayWindow``). The key is derived from the job secret, which only the
/// job's agents hold, so nobody else can make a datagram a switch accepts, and the receiver rank binds each
/// datagram to the switch it was meant for.
struct TunnelDatagram: Sendable, Equatable {
    static let magic: UInt16 = 0x5648  // "VH"
    static let version: UInt8 = 2
    static let headerSize = 24
    static let macSize = 16

    enum Kind: UInt8, Sendable {
        case frame = 0
        /// "Here is my port; answer" (sent to each candidate port of a peer not yet heard from).
        case hello = 1
        /// "Here is my port" (the answer to a hello).
        case helloReply = 2
    }

    var kind: Kind
    var tag: UInt32
    var sender: UInt32
    var receiver: UInt32
    var sequence: UInt64
    var payload: ByteBuffer

    /// The network key of a job: HKDF-SHA256 of the job secret, salted with the job id.
    static func networkKey(secret: some Collection<UInt8>, jobID: String) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(inputKeyMaterial: SymmetricKey(data: Array(secret)), salt: Array(jobID.utf8),
                               info: Array("vhpc job network v2".utf8), outputByteCount: 32)
    }

    /// The datagram, sealed under `key`.
    func encoded(key: SymmetricKey, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: Self.headerSize + payload.readableBytes + Self.macSize)
        buffer.writeInteger(Self.magic)
        buffer.writeInteger(Self.version)
        buffer.writeInteger(kind.rawValue)
        buffer.writeInteger(tag)
        buffer.writeInteger(sender)
        buffer.writeInteger(receiver)
        buffer.writeInteger(sequence)
        buffer.writeImmutableBuffer(payload)
        let mac = Self.mac(buffer, key: key)
        buffer.writeBytes(mac)
        return buffer
    }

    /// The datagram if it is well formed, tagged for this job, addressed to `receiver` and its MAC checks under
    /// `key`; nil otherwise (dropped without a word: anyone can send a UDP datagram).
    static func decode(_ datagram: ByteBuffer, key: SymmetricKey, tag expectedTag: UInt32, receiver expectedReceiver: UInt32) -> TunnelDatagram? {
        guard datagram.readableBytes >= headerSize + macSize else { return nil }
        var reader = datagram
        guard let magic = reader.readInteger(as: UInt16.self), magic == Self.magic,
              let version = reader.readInteger(as: UInt8.self), version == Self.version,
              let kindByte = reader.readInteger(as: UInt8.self), let kind = Kind(rawValue: kindByte),
              let tag = reader.readInteger(as: UInt32.self), tag == expectedTag,
              let sender = reader.readInteger(as: UInt32.self),
              let receiver = reader.readInteger(as: UInt32.self), receiver == expectedReceiver,
              let sequence = reader.readInteger(as: UInt64.self) else { return nil }
        let signedLength = datagram.readableBytes - macSize
        guard let signed = datagram.getSlice(at: datagram.readerIndex, length: signedLength),
              let mac = datagram.getBytes(at: datagram.readerIndex + signedLength, length: macSize),
              constantTimeEqual(Self.mac(signed, key: key), mac),
              let payload = reader.readSlice(length: reader.readableBytes - macSize) else { return nil }
        return TunnelDatagram(kind: kind, tag: tag, sender: sender, receiver: receiver, sequence: sequence, payload: payload)
    }

    static func mac(_ bytes: ByteBuffer, key: SymmetricKey) -> [UInt8] {
        var hmac = HMAC<SHA256>(key: key)
        bytes.withUnsafeReadableBytes { hmac.update(data: $0) }
        return Array(Array(hmac.finalize()).prefix(macSize))
    }

    private static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }

    /// Where node `agentRank`'s switch may listen: 8 UDP ports in 20000-31999 (below Linux's ephemeral
    /// range) derived from the key, so another user can neither predict them from what `ps` shows nor block
    /// a job by binding one (the switch takes the first free one; its peers find it by hellos).
    static func candidatePorts(key: SymmetricKey, agentRank: Int, count: Int = 8) -> [Int] {
        var ports: [Int] = []
        var round: UInt32 = 0
        while ports.count < count {
            var input = Array("port".utf8)
            withUnsafeBytes(of: UInt32(agentRank).bigEndian) { input.append(contentsOf: $0) }
            withUnsafeBytes(of: round.bigEndian) { input.append(contentsOf: $0) }
            let code = Array(HMAC<SHA256>.authenticationCode(for: input, using: key))
            let port = 20_000 + Int((UInt32(code[0]) << 8 | UInt32(code[1])) % 12_000)
            if !ports.contains(port) { ports.append(port) }
            round += 1
        }
        return ports
    }
}
