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

    /// HMAC-SHA256(key, header bytes ‖ authenticated payload bytes), truncated to 16 bytes.
    ///
    /// The authenticated payload is the whole payload, except for file chunks: their MAC stops before the
    /// chunk data (``FileChunk/authenticatedPrefixLength``). The data is bound by the chunk's SHA-256, which
    /// lies in the authenticated prefix and which every receiver checks (``FileChunk/isChecksumValid``)
    /// before it writes or forwards the data — so a byte changed on the link is still caught, and the link
    /// costs one hash of the data per hop instead of three (sender MAC, receiver MAC, checksum). A staging
    /// node hashes the data once more for the whole-file digest.
    func mac(header: FrameHeader, payload: ByteBuffer) -> FrameMAC {
        var hmac = keyed
        header.withBytes { hmac.update(data: $0) }
        let covered = header.kind == .fileChunk
            ? min(payload.readableBytes, FileChunk.authenticatedPrefixLength) : payload.readableBytes
        payload.withUnsafeReadableBytes { hmac.update(data: UnsafeRawBufferPointer(rebasing: $0.prefix(covered))) }
        return hmac.finalize().withUnsafeBytes { FrameMAC(prefixOf: $0) }
    }
}
