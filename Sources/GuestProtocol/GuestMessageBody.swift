import NIOCore
import WireCore

/// The body of a guest message that rides in a Wire `agentControl` message (see ``GuestWireTranslator``):
/// `kind u8`, then the fields. Integers big endian; strings and byte arrays as `u32 length` + bytes; string
/// lists as `u32 count` + strings. Written and read with WireCore's payload codec.
public enum GuestMessageBody {
    /// Output chunks are cut to this size (a Wire frame carries up to 2 MiB).
    public static let maximumChunk = 64 * 1024

    enum Kind: UInt8 {
        // 1 was `hello`, which the Wire handshake replaced.
        case ready = 2, exec, stdin, signal, output, exited, execFailed, statusRequest, status, shutdown, pmi, pmix
    }

    /// Encodes one message as a body.
    public static func encode(_ message: GuestMessage) -> [UInt8] {
        var buffer = ByteBuffer()
        encode(message, into: &buffer)
        return Array(buffer.readableBytesView)
    }

    /// Appends one message's body to `buffer` (WireCore's payload codec: ``WireCore/PayloadReader`` reads it).
    public static func encode(_ message: GuestMessage, into buffer: inout ByteBuffer) {
        switch message {
        case .ready(let info):
            buffer.writeInteger(Kind.ready.rawValue)
            buffer.writeWireString(info.kernelRelease)
            buffer.writeWireString(info.hostname)
            buffer.writeWireString(info.vseName)
            buffer.writeWireString(info.agentVersion)
            buffer.writeInteger(info.counter)
        case .exec(let id, let argv, let environment, let workingDirectory):
            buffer.writeInteger(Kind.exec.rawValue)
            buffer.writeInteger(id)
            buffer.writeStrings(argv)
            buffer.writeStrings(environment)
            buffer.writeWireString(workingDirectory)
        case .stdin(let id, let bytes):
            buffer.writeInteger(Kind.stdin.rawValue)
            buffer.writeInteger(id)
            buffer.writeWireBytes(bytes)
        case .signal(let id, let signal):
            buffer.writeInteger(Kind.signal.rawValue)
            buffer.writeInteger(id)
            buffer.writeInteger(signal)
        case .output(let id, let stream, let bytes):
            buffer.writeInteger(Kind.output.rawValue)
            buffer.writeInteger(id)
            buffer.writeInteger(stream.rawValue)
            buffer.writeWireBytes(bytes)
        case .exited(let id, let status):
            buffer.writeInteger(Kind.exited.rawValue)
            buffer.writeInteger(id)
            buffer.writeInteger(status)
        case .execFailed(let id, let reason):
            buffer.writeInteger(Kind.execFailed.rawValue)
            buffer.writeInteger(id)
            buffer.writeWireString(reason)
        case .statusRequest:
            buffer.writeInteger(Kind.statusRequest.rawValue)
        case .status(let counter, let uptime):
            buffer.writeInteger(Kind.status.rawValue)
            buffer.writeInteger(counter)
            buffer.writeInteger(uptime)
        case .shutdown(let reboot):
            buffer.writeInteger(Kind.shutdown.rawValue)
            buffer.writeWireBool(reboot)
        case .pmi(let id, let bytes):
            buffer.writeInteger(Kind.pmi.rawValue)
            buffer.writeInteger(id)
            buffer.writeWireBytes(bytes)
        case .pmix(let id, let connection, let bytes):
            buffer.writeInteger(Kind.pmix.rawValue)
            buffer.writeInteger(id)
            buffer.writeInteger(connection)
            buffer.writeWireBytes(bytes)
        }
    }

    /// Decodes a body made by ``encode(_:)``.
    public static func decode(_ body: ArraySlice<UInt8>) throws(GuestMessageError) -> GuestMessage {
        try decode(ByteBuffer(bytes: body))
    }

    /// Decodes a body made by ``encode(_:into:)``: every length bounded by the bytes present, strings valid
    /// UTF-8, nothing left over.
    public static func decode(_ body: ByteBuffer) throws(GuestMessageError) -> GuestMessage {
        var reader = PayloadReader(body, kind: .agentControl)
        guard !reader.isAtEnd else { throw .malformed("empty body") }
        let rawKind = try wire { () throws(WireError) in try reader.integer("kind", as: UInt8.self) }
        guard let kind = Kind(rawValue: rawKind) else { throw .unknownKind(rawKind) }
        return try wire { () throws(WireError) -> GuestMessage in
            let message: GuestMessage
            switch kind {
            case .ready:
                message = .ready(GuestInfo(
                    kernelRelease: try reader.string("kernelRelease"), hostname: try reader.string("hostname"),
                    vseName: try reader.string("vseName"), agentVersion: try reader.string("agentVersion"),
                    counter: try reader.integer("counter")))
            case .exec:
                message = .exec(id: try reader.integer("id"), argv: try reader.strings("argv"),
                                environment: try reader.strings("environment"), workingDirectory: try reader.string("workingDirectory"))
            case .stdin:
                message = .stdin(id: try reader.integer("id"), bytes: try reader.byteArray("bytes"))
            case .signal:
                message = .signal(id: try reader.integer("id"), signal: try reader.integer("signal"))
            case .output:
                message = .output(id: try reader.integer("id"), stream: try reader.enumeration("stream"), bytes: try reader.byteArray("bytes"))
            case .exited:
                message = .exited(id: try reader.integer("id"), status: try reader.integer("status"))
            case .execFailed:
                message = .execFailed(id: try reader.integer("id"), reason: try reader.string("reason"))
            case .statusRequest:
                message = .statusRequest
            case .status:
                message = .status(counter: try reader.integer("counter"), uptimeMilliseconds: try reader.integer("uptime"))
            case .shutdown:
                message = .shutdown(reboot: try reader.bool("reboot"))
            case .pmi:
                message = .pmi(id: try reader.integer("id"), bytes: try reader.byteArray("bytes"))
            case .pmix:
                message = .pmix(id: try reader.integer("id"), connection: try reader.integer("connection"),
                                bytes: try reader.byteArray("bytes"))
            }
            try reader.finish()
            return message
        }
    }

    /// Runs a decoding step, turning the codec's ``WireCore/WireError`` into a ``GuestMessageError``.
    private static func wire<T>(_ body: () throws(WireError) -> T) throws(GuestMessageError) -> T {
        do {
            return try body()
        } catch {
            throw .malformed(error.description)
        }
    }
}

extension ByteBuffer {
    /// A u32 count, then each string.
    fileprivate mutating func writeStrings(_ strings: [String]) {
        writeWireCount(strings.count)
        for string in strings { writeWireString(string) }
    }
}

extension PayloadReader {
    /// A u32 count (each string takes at least its 4-byte length), then each string.
    fileprivate mutating func strings(_ field: StaticString) throws(WireError) -> [String] {
        let count = try self.count(field, elementSize: 4)
        var strings: [String] = []
        strings.reserveCapacity(count)
        for _ in 0..<count { strings.append(try string(field)) }
        return strings
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
