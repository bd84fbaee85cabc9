/// The QEMU Machine Protocol as a pure state machine: lines in, protocol outputs out; commands out as
/// bytes. No I/O — `QMPClient` is the socket shell around it.
///
/// QMP: the server greets with `{"QMP": {...}}`; the client must send `qmp_capabilities` before any other
/// command; replies are `{"return": …, "id": …}` or `{"error": {"class": …, "desc": …}, "id": …}`;
/// asynchronous events are `{"event": NAME, "data": …, "timestamp": …}`.
public struct QMPSession: Sendable {
    /// Protocol phase.
    public enum Phase: Sendable, Equatable {
        case awaitingGreeting, negotiating, ready
    }

    /// What a received line meant.
    public enum Output: Sendable, Equatable {
        /// The greeting; the session replies with `qmp_capabilities` (returned as `send`).
        case greeting(version: String, send: [UInt8])
        /// `qmp_capabilities` was accepted: other commands may be sent.
        case negotiated
        case response(id: Int, result: Result<JSONValue, QMPError>)
        case event(name: String, data: JSONValue?)
    }

    public private(set) var phase: Phase = .awaitingGreeting
    private var nextID = 1
    private var capabilitiesID = 0

    public init() {}

    /// Encodes a command as one line; returns its id.
    public mutating func command(_ name: String, arguments: [String: JSONValue]? = nil) -> (id: Int, bytes: [UInt8]) {
        let id = nextID
        nextID += 1
        var object: [String: JSONValue] = ["execute": .string(name), "id": .number(Double(id))]
        if let arguments { object["arguments"] = .object(arguments) }
        return (id, JSONValue.object(object).serialized() + [UInt8(ascii: "\n")])
    }

    /// Interprets one line from the server.
    public mutating func receive(line: some Collection<UInt8>) throws(QMPError) -> Output? {
        let trimmed = line.filter { $0 != UInt8(ascii: "\r") }
        guard !trimmed.isEmpty else { return nil }
        let value: JSONValue
        do { value = try JSONValue.parse(trimmed) } catch {
            throw QMPError(errorClass: "ProtocolError", description: "not JSON: \(String(decoding: trimmed.prefix(80), as: UTF8.self))")
        }
        if let greeting = value["QMP"] {
            guard phase == .awaitingGreeting else { throw QMPError(errorClass: "ProtocolError", description: "unexpected second greeting") }
            phase = .negotiating
            let qemu = greeting["version"]?["qemu"]
            let version = [qemu?["major"], qemu?["minor"], qemu?["micro"]].compactMap { $0?.numberValue }.map { String(Int($0)) }
                .joined(separator: ".")
            let (id, bytes) = command("qmp_capabilities")
            capabilitiesID = id
            return .greeting(version: version, send: bytes)
        }
        if let event = value["event"]?.stringValue {
            return .event(name: event, data: value["data"])
        }
        guard let id = value["id"]?.numberValue.map({ Int($0) }) else {
            throw QMPError(errorClass: "ProtocolError", description: "reply without id: \(value)")
        }
        let result: Result<JSONValue, QMPError>
        if let error = value["error"] {
            result = .failure(QMPError(errorClass: error["class"]?.stringValue ?? "GenericError",
                                       description: error["desc"]?.stringValue ?? "\(error)"))
        } else {
            result = .success(value["return"] ?? .null)
        }
        if id == capabilitiesID && phase == .negotiating {
            if case .failure(let error) = result { throw error }
            phase = .ready
            return .negotiated
        }
        return .response(id: id, result: result)
    }
}

/// A QMP error reply (or a protocol violation).
public struct QMPError: Error, Sendable, Equatable, CustomStringConvertible {
    public var errorClass: String
    public var description: String

    public init(errorClass: String, description: String) {
        self.errorClass = errorClass
        self.description = description
    }
}
