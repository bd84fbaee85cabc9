import CGuestCrypto
import WireCore

/// WireCore's cryptography from OpenSSL's libcrypto, for the guest agent: a static executable without
/// Foundation cannot use swift-crypto. Byte-for-byte the same results as `Wire.SwiftCryptoWire` (tested).
public struct OpenSSLWireCryptography: WireCryptography {
    public init() {}

    public func sha256(_ data: UnsafeRawBufferPointer) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        precondition(vhpc_sha256(data.baseAddress, data.count, &out) == 1, "libcrypto SHA-256 failed")
        return out
    }

    public func hmacSHA256(key: [UInt8], data: [UInt8]) -> [UInt8] {
        data.withUnsafeBytes { Self.hmac(key: key, $0, UnsafeRawBufferPointer(start: nil, count: 0)) }
    }

    public func hkdfSHA256(inputKeyMaterial: [UInt8], salt: [UInt8], infos: [[UInt8]], outputByteCount: Int) -> [[UInt8]] {
        infos.map { info in
            var out = [UInt8](repeating: 0, count: outputByteCount)
            let ok = vhpc_hkdf_sha256(inputKeyMaterial, inputKeyMaterial.count, salt, salt.count, info, info.count,
                                      &out, outputByteCount)
            precondition(ok == 1, "libcrypto HKDF failed")
            return out
        }
    }

    public func frameMACKey(_ key: [UInt8]) -> any FrameMACKey {
        Key(bytes: key)
    }

    struct Key: FrameMACKey {
        let bytes: [UInt8]

        func mac(header: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer) -> FrameMAC {
            OpenSSLWireCryptography.hmac(key: bytes, header, payload).withUnsafeBytes { FrameMAC(prefixOf: $0) }
        }
    }

    static func hmac(key: [UInt8], _ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        let ok = vhpc_hmac_sha256(key, key.count, first.baseAddress, first.count, second.baseAddress, second.count, &out)
        precondition(ok == 1, "libcrypto HMAC-SHA256 failed")
        return out
    }
}
