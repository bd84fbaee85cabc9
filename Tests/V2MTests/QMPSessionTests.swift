import Testing
@testable import V2M

@Suite("QMP session (sans-I/O)")
struct QMPSessionTests {
    let greeting = #"{"QMP": {"version": {"qemu": {"micro": 19, "minor": 2, "major": 7}, "package": "Debian 1:7.2+dfsg-7"}, "capabilities": ["oob"]}}"#

    @Test("greeting → qmp_capabilities → ready; command ids match replies")
    func handshake() throws {
        var session = QMPSession()
        guard case .greeting(let version, let send) = try session.receive(line: Array(greeting.utf8)) else {
            Issue.record("no greeting"); return
        }
        #expect(version == "7.2.19")
        #expect(try JSONValue.parse(send.dropLast()) == .object(["execute": .string("qmp_capabilities"), "id": .number(1)]))
        #expect(session.phase == .negotiating)
        #expect(try session.receive(line: Array(#"{"return": {}, "id": 1}"#.utf8)) == .negotiated)
        #expect(session.phase == .ready)
        let (id, bytes) = session.command("stop")
        #expect(id == 2)
        #expect(String(decoding: bytes, as: UTF8.self) == #"{"execute":"stop","id":2}"# + "\n")
        #expect(try session.receive(line: Array(#"{"return": {"status": "paused", "running": false}, "id": 2}"#.utf8)) ==
                .response(id: 2, result: .success(.object(["status": .string("paused"), "running": .bool(false)]))))
    }

    @Test("errors and events")
    func errorsAndEvents() throws {
        var session = QMPSession()
        _ = try session.receive(line: Array(greeting.utf8))
        _ = try session.receive(line: Array(#"{"return": {}, "id": 1}"#.utf8))
        let (id, _) = session.command("migrate", arguments: ["uri": .string("tcp:127.0.0.1:1")])
        #expect(try session.receive(line: Array(#"{"id": \#(id), "error": {"class": "GenericError", "desc": "Failed to connect"}}"#.utf8)) ==
                .response(id: id, result: .failure(QMPError(errorClass: "GenericError", description: "Failed to connect"))))
        #expect(try session.receive(line: Array(#"{"timestamp": {"seconds": 1, "microseconds": 2}, "event": "STOP"}"#.utf8)) ==
                .event(name: "STOP", data: nil))
        #expect(try session.receive(line: Array(#"{"event": "SHUTDOWN", "data": {"guest": true, "reason": "guest-shutdown"}}"#.utf8)) ==
                .event(name: "SHUTDOWN", data: .object(["guest": .bool(true), "reason": .string("guest-shutdown")])))
    }

    @Test("garbage is a protocol error; a failed capabilities negotiation throws")
    func garbage() throws {
        var session = QMPSession()
        #expect(throws: QMPError.self) { try session.receive(line: Array("not json".utf8)) }
        _ = try session.receive(line: Array(greeting.utf8))
        #expect(throws: QMPError.self) {
            try session.receive(line: Array(#"{"error": {"class": "CommandNotFound", "desc": "x"}, "id": 1}"#.utf8))
        }
    }
}
