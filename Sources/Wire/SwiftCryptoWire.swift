@_exported import WireCore
import Crypto
import NIOCore

/// WireCore's cryptography from swift-crypto (BoringSSL): what every agent on the host uses.
public struct SwiftCryptoWire: WireCryptography {
    public init() {}

    public func sha256(_ data: UnsafeRawBufferPointer) -> [UInt8] {
        Array(SHA256.hash(data: data))
    }

    public func hmacSHA256(key: [UInt8], data: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: data, using: SymmetricKey(data: key)))
    }

    public func hkdfSHA256(inputKeyMaterial: [UInt8], salt: [UInt8], infos: [[UInt8]], outputByteCount: Int) -> [[UInt8]] {
        let pseudoRandomKey = HKDF<SHA256>.extract(inputKeyMaterial: SymmetricKey(data: inputKeyMaterial), salt: salt)
        return infos.map { info in
            HKDF<SHA256>.expand(pseudoRandomKey: pseudoRandomKey, info: info, outputByteCount: outputByteCount)
                .withUnsafeBytes { Array($0) }
        }
    }

    public func frameMACKey(_ key: [UInt8]) -> any FrameMACKey {
        KeyedHMAC(key: SymmetricKey(data: key))
    }

    /// An HMAC with its key already absorbed; each frame works on a copy.
    struct KeyedHMAC: FrameMACKey, @unchecked Sendable {
        // HMAC<SHA256> is a value type with copy-on-write digest state: each copy made below is private to
        // its caller. swift-crypto 3.12 merely does not declare it Sendable.
        private let keyed: HMAC<SHA256>

        init(key: SymmetricKey) {
            keyed = HMAC<SHA256>(key: key)
        }

        func mac(header: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer) -> FrameMAC {
            var hmac = keyed
            hmac.update(data: header)
            hmac.update(data: payload)
            return hmac.finalize().withUnsafeBytes { FrameMAC(prefixOf: $0) }
        }
    }
}

extension Handshake.Configuration {
    /// A configuration using swift-crypto (``SwiftCryptoWire``).
    public init(
        role: Handshake.Role,
        jobID: String,
        secret: JobSecret,
        identity: PeerIdentity,
        expectedPeer: PeerIdentity? = nil,
        timeout: Duration = .seconds(10),
        versions: ClosedRange<ProtocolVersion> = ProtocolVersion.supported,
        nonceSource: NonceSource = .system
    ) {
        self.init(role: role, jobID: jobID, secret: secret, identity: identity, expectedPeer: expectedPeer,
                  timeout: timeout, versions: versions, nonceSource: nonceSource, crypto: SwiftCryptoWire())
    }
}

extension Session {
    /// A session keyed explicitly with swift-crypto keys.
    public init(sendingKey: SymmetricKey, receivingKey: SymmetricKey, version: ProtocolVersion, peer: PeerIdentity) {
        self.init(sendingKey: SwiftCryptoWire.KeyedHMAC(key: sendingKey), receivingKey: SwiftCryptoWire.KeyedHMAC(key: receivingKey),
                  version: version, peer: peer)
    }
}

extension ChunkChecksum {
    /// The SHA-256 of `data`.
    public init(of data: UnsafeRawBufferPointer) {
        self.init(uncheckedBytes: Array(SHA256.hash(data: data)))
    }
}

extension FileChunk {
    /// A chunk that is a whole file on its own (its checksum is the SHA-256 of `data`, as ``ChunkChain`` gives
    /// for a one-chunk file). Staged files in several chunks get chained checksums instead.
    public init(transferID: UInt64, offset: UInt64, totalLength: UInt64, data: ByteBuffer) {
        let checksum = data.withUnsafeReadableBytes { ChunkChecksum(of: $0) }
        self.init(transferID: transferID, offset: offset, totalLength: totalLength, checksum: checksum, data: data)
    }

    /// Whether `checksum` is the SHA-256 of `data` (a chunk made by ``init(transferID:offset:totalLength:data:)``).
    public var isChecksumValid: Bool {
        data.withUnsafeReadableBytes { ChunkChecksum(of: $0) } == checksum
    }
}
