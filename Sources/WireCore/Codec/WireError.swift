/// Everything that can go wrong on a vhpc connection. Any of these closes the connection; the description is
/// the one-line reason to log.
public enum WireError: Error, Hashable, Sendable, CustomStringConvertible {
    // MARK: Framing
    /// The first four bytes of a frame are not "vHPC".
    case badMagic(UInt32)
    /// The header's version is not one this build speaks.
    case unsupportedVersion(UInt8)
    /// The header's kind byte names no message.
    case unknownKind(UInt8)
    /// The header sets flags this version does not define.
    case unknownFlags(UInt16)
    /// The header announces a payload larger than the configured limit.
    case frameTooLarge(length: Int, limit: Int)
    /// The connection ended in the middle of a frame.
    case truncatedFrame(bufferedBytes: Int)
    /// This side was about to send a message whose payload exceeds the frame limit (nothing was sent):
    /// `message` names it (a link frame's carried message too).
    case messageTooLarge(message: String, length: Int, limit: Int)

    // MARK: Messages
    /// The payload does not decode as a message of its kind.
    case malformedMessage(MessageKind, reason: String)

    // MARK: Session
    /// A frame without a MAC arrived after the handshake.
    case missingMAC(MessageKind)
    /// A frame with a MAC, or a non-handshake message, arrived before the handshake completed.
    case notAuthenticated(MessageKind)
    /// The MAC of a sealed frame does not verify.
    case badMAC(sequence: UInt64)
    /// A sealed, authentic frame arrived out of order: replayed, dropped or reordered.
    case sequenceMismatch(expected: UInt64, received: UInt64)
    /// A session frame carries another version than the one negotiated.
    case versionMismatch(expected: UInt8, received: UInt8)
    /// 2^64 frames were sent or received in one session.
    case sequenceExhausted

    // MARK: Handshake
    /// A message arrived that the handshake does not allow in its current state.
    case unexpectedMessage(MessageKind, state: String)
    /// The peer's proof did not verify: it does not hold the job secret, or replayed an old handshake.
    case authenticationFailed(reason: String)
    /// The peer belongs to another job.
    case jobMismatch(expected: String, received: String)
    /// The peers share no protocol version.
    case noCommonVersion(peerMinimum: UInt8, peerMaximum: UInt8)
    /// The handshake did not complete before its deadline.
    case handshakeTimedOut
    /// The peer sent an ``ErrorMessage`` and is closing the connection.
    case rejectedByPeer(code: UInt16, message: String)

    public var description: String {
        switch self {
        case .badMagic(let magic):
            return "bad magic 0x\(String(magic, radix: 16)) (expected 0x\(String(FrameHeader.magic, radix: 16)))"
        case .unsupportedVersion(let version):
            return "unsupported protocol version \(version) (this build speaks \(ProtocolVersion.supported.lowerBound.rawValue)...\(ProtocolVersion.supported.upperBound.rawValue))"
        case .unknownKind(let kind):
            return "unknown message kind 0x\(String(kind, radix: 16))"
        case .unknownFlags(let flags):
            return "unknown frame flags 0x\(String(flags, radix: 16))"
        case .frameTooLarge(let length, let limit):
            return "frame payload of \(length) bytes exceeds the limit of \(limit) bytes"
        case .truncatedFrame(let bytes):
            return "connection closed in the middle of a frame (\(bytes) bytes buffered)"
        case .messageTooLarge(let message, let length, let limit):
            return "cannot send \(message): its payload of \(length) bytes exceeds the frame limit of \(limit) bytes"
        case .malformedMessage(let kind, let reason):
            return "malformed \(kind) message: \(reason)"
        case .missingMAC(let kind):
            return "\(kind) frame without MAC after the handshake"
        case .notAuthenticated(let kind):
            return "\(kind) frame before the handshake completed"
        case .badMAC(let sequence):
            return "bad MAC on frame \(sequence)"
        case .sequenceMismatch(let expected, let received):
            return "frame \(received) out of order, expected \(expected) (replayed, dropped or reordered)"
        case .versionMismatch(let expected, let received):
            return "frame of protocol version \(received) in a version \(expected) session"
        case .sequenceExhausted:
            return "frame sequence numbers exhausted"
        case .unexpectedMessage(let kind, let state):
            return "unexpected \(kind) message while \(state)"
        case .authenticationFailed(let reason):
            return "authentication failed: \(reason)"
        case .jobMismatch(let expected, let received):
            return "peer is in job '\(received)', expected '\(expected)'"
        case .noCommonVersion(let minimum, let maximum):
            return "no common protocol version (peer speaks \(minimum)...\(maximum))"
        case .handshakeTimedOut:
            return "handshake timed out"
        case .rejectedByPeer(let code, let message):
            return "rejected by peer (code \(code)): \(message)"
        }
    }

    /// The code to send to the peer in an ``ErrorMessage`` before closing.
    public var code: ErrorCode {
        switch self {
        case .badMagic, .unknownKind, .unknownFlags, .frameTooLarge, .truncatedFrame, .messageTooLarge, .malformedMessage,
            .missingMAC, .notAuthenticated, .sequenceMismatch, .versionMismatch, .sequenceExhausted,
            .unexpectedMessage:
            return .protocolViolation
        case .unsupportedVersion, .noCommonVersion:
            return .unsupportedVersion
        case .badMAC, .authenticationFailed:
            return .authenticationFailed
        case .jobMismatch:
            return .wrongJob
        case .handshakeTimedOut:
            return .timeout
        case .rejectedByPeer(let code, _):
            return ErrorCode(rawValue: code)
        }
    }
}
