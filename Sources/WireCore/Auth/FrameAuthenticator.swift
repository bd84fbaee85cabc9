import NIOCore

/// Computes the ``FrameMAC`` of frames in one direction of a session, with a key its backend has already
/// prepared (inner and outer pads absorbed), so each frame costs only the hashing of its own bytes.
struct FrameAuthenticator: Sendable {
    private let key: any FrameMACKey

    init(key: any FrameMACKey) {
        self.key = key
    }

    /// HMAC-SHA256(key, header bytes ‖ authenticated payload bytes), truncated to 16 bytes.
    ///
    /// The authenticated payload is the whole payload, except for file chunks (on their own or carried by a
    /// ``LinkFrame``): their MAC stops before the chunk data (``FileChunk/authenticatedPrefixLength``). The data is bound by the chunk's checksum (a
    /// SHA-256 chaining value), which lies in the authenticated prefix and which every receiver checks before
    /// it writes or forwards the data — so a byte changed on the link is still caught, and a staging node
    /// hashes the data once: that one pass checks each chunk and, with the last, the whole file.
    func mac(header: FrameHeader, payload: ByteBuffer) -> FrameMAC {
        let covered: Int
        switch header.kind {
        case .fileChunk: covered = min(payload.readableBytes, FileChunk.authenticatedPrefixLength)
        case .link: covered = LinkFrame.authenticatedLength(of: payload)
        default: covered = payload.readableBytes
        }
        return header.withBytes { headerBytes in
            payload.withUnsafeReadableBytes { key.mac(header: headerBytes, payload: UnsafeRawBufferPointer(rebasing: $0.prefix(covered))) }
        }
    }
}
