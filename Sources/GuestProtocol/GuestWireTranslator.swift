import NIOCore
import WireCore

/// Maps the guest channel's vocabulary (``GuestMessage``) onto Wire messages, both ways, for either end.
///
/// - `exec` is a Wire `launch`, `signal` a `control` signal, `stdin` and `output` are `ioData` with
///   sequence numbers per (command, stream): a gap is an error, so no output is lost silently.
/// - The rest (`ready`, `status`, `exited`, `execFailed`, `statusRequest`, `shutdown`) are `agentControl`
///   messages whose body is a ``GuestMessageBody``.
public struct GuestWireTranslator: Sendable {
    private struct StreamKey: Hashable {
        var command: UInt32
        var stream: IOStream
    }

    /// The guest's rank, written into the I/O it sends.
    public let rank: UInt32
    private var nextOutbound: [StreamKey: UInt64] = [:]
    private var nextInbound: [StreamKey: UInt64] = [:]

    public init(rank: UInt32) {
        self.rank = rank
    }

    /// The Wire message for `message`.
    public mutating func wireMessage(for message: GuestMessage) -> Message {
        switch message {
        case .exec(let id, let argv, let environment, let workingDirectory):
            return .launch(LaunchCommand(
                id: UInt64(id), executable: argv.first ?? "", arguments: Array(argv.dropFirst()),
                environment: environment.map(Self.variable), workingDirectory: workingDirectory))
        case .signal(let id, let signal):
            return .control(ControlCommand(id: UInt64(id), operation: .signal(signal)))
        case .stdin(let id, let bytes):
            return .ioData(ioData(id: id, stream: .stdin, bytes: bytes, end: bytes.isEmpty))
        case .output(let id, let stream, let bytes):
            return .ioData(ioData(id: id, stream: stream == .stdout ? .stdout : .stderr, bytes: bytes, end: false))
        case .exited(let id, _), .execFailed(let id, _):
            forget(command: id)
            return .agentControl(AgentControl(body: Self.body(message)))
        case .ready, .statusRequest, .status, .shutdown, .pmi, .pmix:
            return .agentControl(AgentControl(body: Self.body(message)))
        }
    }

    /// The guest message a Wire message carries.
    /// - Throws: ``GuestMessageError`` for a message the guest channel does not use, a bad body, or a gap in
    ///   an I/O stream's sequence numbers.
    public mutating func guestMessage(from message: Message) throws(GuestMessageError) -> GuestMessage {
        switch message {
        case .launch(let launch):
            guard let id = UInt32(exactly: launch.id), !launch.executable.isEmpty else {
                throw .malformed("launch \(launch.id) has no command or an id beyond 32 bits")
            }
            return .exec(id: id, argv: [launch.executable] + launch.arguments,
                         environment: launch.environment.map { $0.name + "=" + $0.value },
                         workingDirectory: launch.workingDirectory)
        case .control(let command):
            guard case .signal(let signal) = command.operation, let id = UInt32(exactly: command.id) else {
                throw .malformed("control \(command.operation) is not for a guest")
            }
            return .signal(id: id, signal: signal)
        case .ioData(let data):
            guard let id = UInt32(exactly: data.launchID) else { throw .malformed("I/O for launch \(data.launchID)") }
            let key = StreamKey(command: id, stream: data.stream)
            let expected = nextInbound[key, default: 0]
            guard data.sequence == expected else {
                throw .malformed("\(data.stream) of command \(id): message \(data.sequence) arrived, \(expected) expected (lost data)")
            }
            nextInbound[key] = expected + 1
            let bytes = Array(data.data.readableBytesView)
            switch data.stream {
            case .stdin: return .stdin(id: id, bytes: data.isEndOfStream ? [] : bytes)
            case .stdout: return .output(id: id, stream: .stdout, bytes: bytes)
            case .stderr: return .output(id: id, stream: .stderr, bytes: bytes)
            }
        case .agentControl(let control):
            let message = try GuestMessageBody.decode(control.body)
            if case .exited(let id, _) = message { forget(command: id) }
            if case .execFailed(let id, _) = message { forget(command: id) }
            return message
        default:
            throw .malformed("a \(message.kind) message has no place on the guest channel")
        }
    }

    private mutating func ioData(id: UInt32, stream: IOStream, bytes: [UInt8], end: Bool) -> WireCore.IOData {
        let key = StreamKey(command: id, stream: stream)
        let sequence = nextOutbound[key, default: 0]
        nextOutbound[key] = sequence + 1
        return WireCore.IOData(launchID: UInt64(id), rank: rank, stream: stream, sequence: sequence, isEndOfStream: end,
                      data: ByteBuffer(bytes: bytes))
    }

    private mutating func forget(command id: UInt32) {
        for stream in IOStream.allCases {
            nextOutbound[StreamKey(command: id, stream: stream)] = nil
            nextInbound[StreamKey(command: id, stream: stream)] = nil
        }
    }

    private static func variable(_ entry: String) -> EnvironmentVariable {
        guard let equals = entry.firstIndex(of: "=") else { return EnvironmentVariable(name: entry, value: "") }
        return EnvironmentVariable(name: String(entry[..<equals]), value: String(entry[entry.index(after: equals)...]))
    }

    /// A guest message as an `agentControl` body.
    static func body(_ message: GuestMessage) -> ByteBuffer {
        var buffer = ByteBuffer()
        GuestMessageBody.encode(message, into: &buffer)
        return buffer
    }
}
