import Control
import Foundation
import GuestProtocol
import NIOCore

/// Cuts a VM's output chunks into whole lines per stream (Control's `LineFramer`), as the agent expects.
final class LineSplitter: @unchecked Sendable {
    private let rank: Int
    private let report: @Sendable (AgentEvent) -> Void
    private let lock = NSLock()
    private var framers: [GuestMessage.OutputStream: LineFramer] = [.stdout: LineFramer(), .stderr: LineFramer()]

    init(rank: Int, report: @escaping @Sendable (AgentEvent) -> Void) {
        self.rank = rank
        self.report = report
    }

    func add(_ stream: GuestMessage.OutputStream, _ bytes: [UInt8]) {
        let lines = lock.withLock { framers[stream]?.append(ByteBuffer(bytes: bytes)) }
        if let lines { send(stream, lines, endOfStream: false) }
    }

    func finish() {
        for stream in [GuestMessage.OutputStream.stdout, .stderr] {
            var rest = lock.withLock { framers[stream]?.flush() } ?? ByteBuffer()
            if rest.readableBytes > 0, rest.readableBytesView.last != UInt8(ascii: "\n") {
                rest.writeInteger(UInt8(ascii: "\n"))
            }
            send(stream, rest, endOfStream: true)
        }
    }

    private func send(_ stream: GuestMessage.OutputStream, _ data: ByteBuffer, endOfStream: Bool) {
        report(.taskOutput(task: rank, stream: stream == .stdout ? .stdout : .stderr, data: data, endOfStream: endOfStream))
    }
}
