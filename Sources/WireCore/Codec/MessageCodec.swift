import NIOCore

/// Encodes ``Message``s to frame payloads and decodes them back. Pure functions, no state.
public enum MessageCodec {
    /// Appends the payload of `message` to `buffer`.
    public static func encode(_ message: Message, into buffer: inout ByteBuffer) {
        switch message {
        case .hello(let body): body.encode(into: &buffer)
        case .challenge(let body): body.encode(into: &buffer)
        case .response(let body): body.encode(into: &buffer)
        case .welcome(let body): body.encode(into: &buffer)
        case .ping(let body), .pong(let body): body.encode(into: &buffer)
        case .routeUpdate(let body): body.encode(into: &buffer)
        case .failureReport(let body): body.encode(into: &buffer)
        case .launch(let body): body.encode(into: &buffer)
        case .control(let body): body.encode(into: &buffer)
        case .agentControl(let body): body.encode(into: &buffer)
        case .ioData(let body): body.encode(into: &buffer)
        case .fileChunk(let body): body.encode(into: &buffer)
        case .ack(let body): body.encode(into: &buffer)
        case .error(let body): body.encode(into: &buffer)
        case .link(let body): body.encode(into: &buffer)
        }
    }

    /// Decodes a payload of the given kind. Byte fields (I/O data, chunk data) are slices of `payload`.
    /// - Throws: ``WireError/malformedMessage(_:reason:)`` if the payload is short, long or invalid;
    ///   ``WireError/unsupportedVersion(_:)`` for a version this build cannot decode.
    public static func decode(
        kind: MessageKind,
        payload: ByteBuffer,
        version: ProtocolVersion = .current
    ) throws(WireError) -> Message {
        guard version.isSupported else { throw .unsupportedVersion(version.rawValue) }
        switch kind {
        case .hello: return .hello(try .decode(payload))
        case .challenge: return .challenge(try .decode(payload))
        case .response: return .response(try .decode(payload))
        case .welcome: return .welcome(try .decode(payload))
        case .ping: return .ping(try decodeHeartbeat(payload, kind: kind))
        case .pong: return .pong(try decodeHeartbeat(payload, kind: kind))
        case .routeUpdate: return .routeUpdate(try .decode(payload))
        case .failureReport: return .failureReport(try .decode(payload))
        case .launch: return .launch(try .decode(payload))
        case .control: return .control(try .decode(payload))
        case .agentControl: return .agentControl(try .decode(payload))
        case .ioData: return .ioData(try .decode(payload))
        case .fileChunk: return .fileChunk(try .decode(payload))
        case .ack: return .ack(try .decode(payload))
        case .error: return .error(try .decode(payload))
        case .link: return .link(try .decode(payload))
        }
    }

    /// An unsealed frame holding `message`.
    public static func frame(
        _ message: Message,
        allocator: ByteBufferAllocator = ByteBufferAllocator(),
        version: ProtocolVersion = .current
    ) -> Frame {
        var payload = allocator.buffer(capacity: estimatedPayloadSize(message))
        encode(message, into: &payload)
        return Frame(kind: message.kind, payload: payload, version: version)
    }

    /// An unsealed frame holding `message`, for sending under `limits`.
    /// - Throws: ``WireError/messageTooLarge(message:length:limit:)`` when its payload exceeds the limit, which
    ///   the receiver would refuse: the sender learns it, naming the message, and nothing is sent.
    public static func frame(_ message: Message, limits: FrameLimits, allocator: ByteBufferAllocator = ByteBufferAllocator()) throws(WireError) -> Frame {
        let frame = frame(message, allocator: allocator)
        guard frame.payload.readableBytes <= limits.maxPayloadLength else {
            var name = "\(message.kind) message"
            if case .link(let link) = message, let carried = link.message {
                name = "\(carried.kind) message from agent \(link.source) to agent \(link.destination)"
            }
            throw .messageTooLarge(message: name, length: frame.payload.readableBytes, limit: limits.maxPayloadLength)
        }
        return frame
    }

    /// The message held by `frame`.
    public static func message(from frame: Frame) throws(WireError) -> Message {
        try decode(kind: frame.kind, payload: frame.payload, version: frame.header.version)
    }

    private static func decodeHeartbeat(_ payload: ByteBuffer, kind: MessageKind) throws(WireError) -> Heartbeat {
        var reader = PayloadReader(payload, kind: kind)
        let heartbeat = try Heartbeat(reading: &reader)
        try reader.finish()
        return heartbeat
    }

    private static func estimatedPayloadSize(_ message: Message) -> Int {
        switch message {
        case .fileChunk(let chunk): return 64 + chunk.data.readableBytes
        case .ioData(let io): return 40 + io.data.readableBytes
        case .agentControl(let control): return 8 + control.body.readableBytes
        case .link(let frame): return LinkFrame.headerLength + (frame.message.map(estimatedPayloadSize) ?? 0)
        default: return 64
        }
    }
}
