/// The body of a guest message that rides in a Wire `agentControl` message (see ``GuestWireTranslator``):
/// `kind u8`, then the fields. Integers big endian; strings and byte arrays as `u32 length` + bytes; string
/// lists as `u32 count` + strings.
public enum GuestMessageBody {
    /// Output chunks are cut to this size (a Wire frame carries up to 2 MiB).
    public static let maximumChunk = 64 * 1024

    enum Kind: UInt8 {
        // 1 was `hello`, which the Wire handshake replaced.
        case ready = 2, exec, stdin, signal, output, exited, execFailed, statusRequest, status, shutdown, pmi
    }

    /// Encodes one message as a body.
    public static func encode(_ message: GuestMessage) -> [UInt8] {
        var payload = PayloadWriter()
        let kind: Kind
        switch message {
        case .ready(let info):
            kind = .ready
            payload.string(info.kernelRelease)
            payload.string(info.hostname)
            payload.string(info.vseName)
            payload.string(info.agentVersion)
            payload.u64(info.counter)
        case .exec(let id, let argv, let environment, let workingDirectory):
            kind = .exec
            payload.u32(id)
            payload.strings(argv)
            payload.strings(environment)
            payload.string(workingDirectory)
        case .stdin(let id, let bytes):
            kind = .stdin
            payload.u32(id)
            payload.bytes(bytes)
        case .signal(let id, let signal):
            kind = .signal
            payload.u32(id)
            payload.u32(UInt32(bitPattern: signal))
        case .output(let id, let stream, let bytes):
            kind = .output
            payload.u32(id)
            payload.u8(stream.rawValue)
            payload.bytes(bytes)
        case .exited(let id, let status):
            kind = .exited
            payload.u32(id)
            payload.u32(UInt32(bitPattern: status))
        case .execFailed(let id, let reason):
            kind = .execFailed
            payload.u32(id)
            payload.string(reason)
        case .statusRequest:
            kind = .statusRequest
        case .status(let counter, let uptime):
            kind = .status
            payload.u64(counter)
            payload.u64(uptime)
        case .shutdown(let reboot):
            kind = .shutdown
            payload.u8(reboot ? 1 : 0)
        case .pmi(let id, let bytes):
            kind = .pmi
            payload.u32(id)
            payload.bytes(bytes)
        }
        return [kind.rawValue] + payload.buffer
    }

    /// Decodes a body made by ``encode(_:)``.
    public static func decode(_ body: ArraySlice<UInt8>) throws(GuestMessageError) -> GuestMessage {
        guard let rawKind = body.first else { throw .malformed("empty body") }
        guard let kind = Kind(rawValue: rawKind) else { throw .unknownKind(rawKind) }
        var reader = PayloadReader(body.dropFirst())
        let message: GuestMessage
        switch kind {
        case .ready:
            message = .ready(GuestInfo(
                kernelRelease: try reader.string(), hostname: try reader.string(), vseName: try reader.string(),
                agentVersion: try reader.string(), counter: try reader.u64()))
        case .exec:
            message = .exec(id: try reader.u32(), argv: try reader.strings(), environment: try reader.strings(),
                            workingDirectory: try reader.string())
        case .stdin:
            message = .stdin(id: try reader.u32(), bytes: try reader.bytes())
        case .signal:
            message = .signal(id: try reader.u32(), signal: Int32(bitPattern: try reader.u32()))
        case .output:
            let id = try reader.u32()
            guard let stream = GuestMessage.OutputStream(rawValue: try reader.u8()) else { throw .malformed("bad stream") }
            message = .output(id: id, stream: stream, bytes: try reader.bytes())
        case .exited:
            message = .exited(id: try reader.u32(), status: Int32(bitPattern: try reader.u32()))
        case .execFailed:
            message = .execFailed(id: try reader.u32(), reason: try reader.string())
        case .statusRequest:
            message = .statusRequest
        case .status:
            message = .status(counter: try reader.u64(), uptimeMilliseconds: try reader.u64())
        case .shutdown:
            message = .shutdown(reboot: try reader.u8() != 0)
        case .pmi:
            message = .pmi(id: try reader.u32(), bytes: try reader.bytes())
        }
        guard reader.isAtEnd else { throw .malformed("trailing bytes in \(kind)") }
        return message
    }
}

/// Why a guest message body was rejected.
public enum GuestMessageError: Error, Equatable, CustomStringConvertible {
    case unknownKind(UInt8)
    case malformed(String)

    public var description: String {
        switch self {
        case .unknownKind(let k): return "unknown guest message kind \(k)"
        case .malformed(let why): return "malformed guest message: \(why)"
        }
    }
}
