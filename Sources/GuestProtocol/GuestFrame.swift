/// Framing of the guest channel.
///
/// Layout (big endian): `magic 0x56 0x47 ("VG")`, `version u8`, `kind u8`, `length u32`, then `length`
/// payload bytes. Payload fields: integers big endian; strings and byte arrays as `u32 length` + bytes;
/// string lists as `u32 count` + strings.
public enum GuestFrame {
    public static let magic: (UInt8, UInt8) = (0x56, 0x47)
    public static let version: UInt8 = 1
    public static let headerSize = 8
    /// The largest payload accepted; a larger length field is rejected before any allocation.
    public static let maximumPayload = 1 << 20
    /// Output chunks are split to stay well under the maximum.
    public static let maximumChunk = 64 * 1024

    enum Kind: UInt8 {
        case hello = 1, ready, exec, stdin, signal, output, exited, execFailed, statusRequest, status, shutdown
    }

    /// Encodes one message as a complete frame.
    public static func encode(_ message: GuestMessage) -> [UInt8] {
        var payload = PayloadWriter()
        let kind: Kind
        switch message {
        case .hello(let version):
            kind = .hello
            payload.u16(version)
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
        }
        var frame: [UInt8] = [magic.0, magic.1, version, kind.rawValue]
        frame.reserveCapacity(headerSize + payload.buffer.count)
        let length = UInt32(payload.buffer.count)
        frame += [UInt8(length >> 24), UInt8((length >> 16) & 0xff), UInt8((length >> 8) & 0xff), UInt8(length & 0xff)]
        frame += payload.buffer
        return frame
    }

    static func decodePayload(kind rawKind: UInt8, _ payload: ArraySlice<UInt8>) throws(GuestFrameError) -> GuestMessage {
        guard let kind = Kind(rawValue: rawKind) else { throw .unknownKind(rawKind) }
        var reader = PayloadReader(payload)
        let message: GuestMessage
        switch kind {
        case .hello:
            message = .hello(protocolVersion: try reader.u16())
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
        }
        guard reader.isAtEnd else { throw .malformed("trailing bytes in \(kind)") }
        return message
    }
}

/// Why a guest-channel frame was rejected.
public enum GuestFrameError: Error, Equatable, CustomStringConvertible {
    case badMagic
    case unsupportedVersion(UInt8)
    case unknownKind(UInt8)
    case oversized(Int)
    case malformed(String)

    public var description: String {
        switch self {
        case .badMagic: return "bad magic"
        case .unsupportedVersion(let v): return "unsupported protocol version \(v)"
        case .unknownKind(let k): return "unknown message kind \(k)"
        case .oversized(let n): return "frame of \(n) bytes exceeds the maximum of \(GuestFrame.maximumPayload)"
        case .malformed(let why): return "malformed frame: \(why)"
        }
    }
}
