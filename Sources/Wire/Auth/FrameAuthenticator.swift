import Crypto
import Foundation
import NIOCore

/// Computes the ``FrameMAC`` of frames in one direction of a session.
///
/// Keeps an HMAC already keyed (inner and outer pads absorbed), so each frame costs only the hashing of its
/// own bytes.
struct FrameAuthenticator: @unchecked Sendable {
    // HMAC<SHA256> is a value type with copy-on-write digest state: each copy made below is private to its
    // caller. swift-crypto 3.12 merely does not declare it Sendable.
    private let keyed: HMAC<SHA256>

    init(key: SymmetricKey) {
        keyed = HMAC<SHA256>(key: key)
    }

    /// HMAC-SHA256(key, header bytes ‖ payload bytes), truncated to 16 bytes.
    func mac(header: FrameHeader, payload: ByteBuffer) -> FrameMAC {
        var hmac = keyed
        header.withBytes { hmac.update(data: $0) }
        payload.withUnsafeReadableBytes { hmac.update(data: $0) }
        return hmac.finalize().withUnsafeBytes { FrameMAC(prefixOf: $0) }
    }
}
