import Control
import Foundation
import GuestProtocol
import NIOCore
import VSE
import Wire

/// The libFuzzer targets beside the frame fuzzer (`WireFuzz`): control payloads (what agents exchange inside
/// authenticated `agentControl` messages), guest messages (what a guest agent and its host exchange) and the
/// VSE spec parser. `PAYLOAD_FUZZ_TARGET` (control, guest or spec) picks one per run. Besides "no crash, no
/// hang, bounded memory" each asserts an invariant that can fail.
enum PayloadFuzzer {
    enum Target: String, CaseIterable {
        case control, guest, spec
    }

    static let target: Target = {
        let name = ProcessInfo.processInfo.environment["PAYLOAD_FUZZ_TARGET"] ?? "control"
        guard let target = Target(rawValue: name) else { fatalError("PAYLOAD_FUZZ_TARGET must be control, guest or spec, not \(name)") }
        return target
    }()

    static func run(_ input: UnsafeRawBufferPointer, as target: Target = target) {
        switch target {
        case .control: control(input)
        case .guest: guest(input)
        case .spec: spec(input)
        }
    }

    /// A payload that decodes re-encodes to the same bytes, and those decode to the same value.
    static func control(_ input: UnsafeRawBufferPointer) {
        let body = ByteBuffer(bytes: input)
        guard let payload = ControlPayload(message: .agentControl(AgentControl(body: body))) else { return }
        guard case .agentControl(let again) = payload.message else { fatalError("a control payload did not encode as agentControl") }
        guard let decoded = ControlPayload(message: .agentControl(again)) else { fatalError("re-encoded \(payload) does not decode") }
        guard decoded == payload else { fatalError("round trip changed \(payload) into \(decoded)") }
        guard again.body == body else { fatalError("decoding is not canonical: \(payload) re-encodes to other bytes") }
    }

    /// The same for guest message bodies.
    static func guest(_ input: UnsafeRawBufferPointer) {
        let bytes = [UInt8](input)
        guard let message = try? GuestMessageBody.decode(bytes[...]) else { return }
        let again = GuestMessageBody.encode(message)
        guard let decoded = try? GuestMessageBody.decode(again[...]), decoded == message else {
            fatalError("round trip changed \(message)")
        }
        guard again == bytes else { fatalError("decoding is not canonical: \(message) re-encodes to other bytes") }
    }

    /// Any text is a valid spec or a list of located problems; parsing it again gives the same verdict.
    static func spec(_ input: UnsafeRawBufferPointer) {
        let yaml = String(decoding: input, as: UTF8.self)
        func verdict() -> String {
            do {
                return "ok \(try SpecLoader.load(yaml: yaml, path: "fuzz.yaml", baseDirectory: "/nonexistent-vhpc-fuzz").name)"
            } catch let error as SpecValidationError {
                for diagnostic in error.diagnostics where diagnostic.line < 0 || diagnostic.column < 0 {
                    fatalError("diagnostic not located in the spec: \(diagnostic)")
                }
                return "\(error)"
            } catch {
                fatalError("the spec loader threw something else than SpecValidationError: \(error)")
            }
        }
        let first = verdict()
        guard verdict() == first else { fatalError("the spec loader is not deterministic on \(yaml.debugDescription)") }
    }
}
