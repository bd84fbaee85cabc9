import Control
import Foundation
import GuestProtocol
import NIOCore
import Wire

/// Seed inputs per target: one well-formed encoding of each kind of payload or message, and the example specs.
enum PayloadSeeds {
    static func seeds(for target: PayloadFuzzer.Target) -> [(name: String, bytes: [UInt8])] {
        switch target {
        case .control:
            let endpoints = (0..<3).map { AgentEndpoint(rank: $0, host: "10.0.0.\($0 % 2)", port: 4000 + $0, pid: Int32(100 + $0)) }
            let payloads: [ControlPayload] = [
                .subtreeReady(endpoints: endpoints, failed: [FailureNotice(rank: 3, reporter: 1, detector: .heartbeatTimeout, detail: "silent")]),
                .addressTable(endpoints: endpoints, failed: [7]),
                .subtreeWired(count: 3),
                .taskExited(node: 2, task: 5, status: 1, message: "x"),
                .taskExited(node: 2, task: 6, status: 0, message: "", output: OutputCounts(stdout: 3, stderr: 0)),
                .launchFailed(node: 1, message: "command not found"),
                .stageOffer(StagingOffer(transferID: 7, size: 1 << 20, sha256: String(repeating: "ab", count: 32), target: .job(index: 0, path: "in.dat"), mode: 0o640)),
                .stageOffer(StagingOffer(transferID: 8, size: 9, sha256: "00", target: .image(imageID: "abc", artifact: "kernel", artifactCount: 3))),
                .stageResend(transferID: 7, offset: 1 << 20),
                .stageDetach(transferID: 7),
                .staged(StagingReport(node: 3, transferID: 7, outcome: .failed, detail: "No space left on device")),
                .pmiFence(node: 2, epoch: 0, entries: [PMIEntry(key: "k", value: "v")], part: 0, parts: 2),
                .pmiRelease(epoch: 1, entries: [PMIEntry(key: "\u{0}pmix", bytes: [0, 1, 2])]),
                .lookup(target: 5, requester: 2, helper: 1),
                .introduce(to: 3, endpoint: endpoints[1]),
                .ancestorFailed(FailureNotice(rank: 1, reporter: 0, detector: .connectionClosed, detail: "closed")),
                .stepJoin(endpoints[2]), .stepParent(endpoints[0]), .stepReady(rank: 4),
            ]
            return payloads.enumerated().map { index, payload in
                guard case .agentControl(let control) = payload.message else { return ("control-\(index)", []) }
                return ("control-\(index)", Array(control.body.readableBytesView))
            }
        case .guest:
            let messages: [GuestMessage] = [
                .ready(GuestInfo(kernelRelease: "6.1", hostname: "h", vseName: "tiny", agentVersion: "1", counter: 9)),
                .exec(id: 1, argv: ["sh", "-c", "true"], environment: ["A=B"], workingDirectory: "/"),
                .stdin(id: 1, bytes: [1, 2, 3]), .signal(id: 1, signal: 15),
                .output(id: 1, stream: .stderr, bytes: Array("out\n".utf8)), .exited(id: 1, status: 0),
                .execFailed(id: 2, reason: "no such file"), .statusRequest, .status(counter: 5, uptimeMilliseconds: 600),
                .shutdown(reboot: false), .pmi(id: 1, bytes: Array("cmd=init\n".utf8)),
            ]
            return messages.enumerated().map { ("guest-\($0.offset)", GuestMessageBody.encode($0.element)) }
        case .spec:
            let directory = "examples"
            let files = (try? FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".yaml") }.sorted()) ?? []
            return files.compactMap { name in
                (try? Data(contentsOf: URL(fileURLWithPath: directory + "/" + name))).map { ("spec-" + name, [UInt8]($0)) }
            }
        }
    }
}
