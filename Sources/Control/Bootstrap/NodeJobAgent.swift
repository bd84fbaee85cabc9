import Foundation
import Launch
import NIOCore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A job's node agent started by a resident agent: its process, and its stderr passed on to the job's link.
final class NodeJobAgent: Sendable {
    let process: LocalProcess
    private let exited = Atomic(false)
    private let errors: StderrRelay

    init(process: LocalProcess, errors: StderrRelay) {
        self.process = process
        self.errors = errors
    }

    /// The agent's status (128 + signal if killed), once it has exited and what it wrote on stderr has been
    /// passed on (up to 200 ms for that).
    func waitForExit() async -> Int32 {
        let status = await process.waitForExit()
        exited.store(true, ordering: .releasing)
        await errors.waitForEnd(within: .milliseconds(200))
        return status
    }

    /// SIGTERM to the agent's process group (its keeper passes it on), SIGKILL after `grace` if it is still
    /// there; nothing once it has exited (its pid may be another process's by then).
    func end(grace: Duration) {
        guard !exited.load(ordering: .acquiring) else { return }
        process.signal(SIGTERM)
        Task {
            try? await Task.sleep(for: grace)
            if !exited.load(ordering: .acquiring) { process.signal(SIGKILL) }
        }
    }

    func attach(_ channel: any Channel) { errors.attach(channel) }
}

/// Reads a node agent's stderr on a thread of its own and passes it to the job's link as it comes; what the
/// agent writes before it has a job (a spare) is kept, up to 16 KiB, and goes with the job's first output.
final class StderrRelay: Sendable {
    private struct State {
        var channel: (any Channel)?
        var pending: [UInt8] = []
    }

    private let state = Mutex(State())
    /// Signalled at the stderr's end of file.
    private let ended = DispatchSemaphore(value: 0)
    static let pendingLimit = 16 * 1024

    /// Starts reading `fd` (closed at its end of file).
    static func reading(_ fd: Int32) -> StderrRelay {
        let relay = StderrRelay()
        let thread = Thread {
            var block = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = read(fd, &block, block.count)
                if count < 0, errno == EINTR { continue }
                guard count > 0 else { break }
                relay.received(Array(block[..<count]))
            }
            close(fd)
            relay.ended.signal()
        }
        thread.name = "vhpc-agent-stderr"
        thread.start()
        return relay
    }

    /// Waits (at most `limit`) for the stderr's end of file: everything the agent wrote has been passed on.
    func waitForEnd(within limit: Duration) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async { [ended] in
                if ended.wait(timeout: .now() + .milliseconds(Int(limit.milliseconds))) == .success { ended.signal() }
                continuation.resume()
            }
        }
    }

    func attach(_ channel: any Channel) {
        let pending = state.withLock { state -> [UInt8] in
            state.channel = channel
            defer { state.pending = [] }
            return state.pending
        }
        if !pending.isEmpty { send(pending, to: channel) }
    }

    private func received(_ bytes: [UInt8]) {
        let channel = state.withLock { state -> (any Channel)? in
            if state.channel == nil, state.pending.count + bytes.count <= Self.pendingLimit { state.pending += bytes }
            return state.channel
        }
        if let channel { send(bytes, to: channel) }
    }

    private func send(_ bytes: [UInt8], to channel: any Channel) {
        channel.writeAndFlush(ControlPayload.residentOutput(String(decoding: bytes, as: UTF8.self)).message, promise: nil)
    }
}
