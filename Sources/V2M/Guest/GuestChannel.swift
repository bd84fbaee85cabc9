import Foundation
import GuestProtocol
import Logging
import NIOCore
import NIOPosix
import Synchronization
import Wire

/// The host end of a VM's guest channel: a NIO unix-socket client speaking the Wire protocol to the
/// in-guest agent, as its tool agent. Every connection begins with the Wire handshake under the VM's
/// credentials (job id, rank, job secret; see `GuestCredentials`), so a reconnect after a migration or from
/// another `vhpc vm` command is authenticated afresh; the guest answers with `ready`. Then it reads the
/// 10 Hz status counter, runs commands and streams their output, every frame sealed.
public final class GuestChannel: Sendable {
    public let vmName: String
    public let socketPath: String
    private let channel: any Channel
    private let core: GuestChannelCore

    private init(vmName: String, socketPath: String, channel: any Channel, core: GuestChannelCore) {
        self.vmName = vmName
        self.socketPath = socketPath
        self.channel = channel
        self.core = core
    }

    /// Connects to the unix socket QEMU serves, retrying until it accepts or `timeout` passes.
    /// `credentialsPath` is the VM's credentials file (``GuestCredentialsFile``), read at each connect.
    /// `handshakeTimeout` bounds the Wire handshake, which waits for the guest agent to open its port (a
    /// whole boot, the first time).
    public static func connect(socketPath: String, credentialsPath: String, vmName: String, timeout: Duration = .seconds(10),
                               handshakeTimeout: Duration = .seconds(300), logger: Logger) async throws -> GuestChannel {
        let credentials = try GuestCredentialsFile.read(credentialsPath, vmName: vmName)
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        var lastError: any Error = V2MError.guestChannel(vm: vmName, reason: "socket \(socketPath) never appeared")
        while clock.now < deadline {
            try Task.checkCancellation()
            if FileManager.default.fileExists(atPath: socketPath) {
                let core = GuestChannelCore(vmName: vmName, logger: logger)
                do {
                    let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                        .channelInitializer { channel in
                            channel.eventLoop.makeCompletedFuture {
                                let handshake = Handshake.Configuration(
                                    role: .initiator, jobID: credentials.jobID, secret: credentials.secret,
                                    identity: credentials.hostIdentity, expectedPeer: credentials.guestIdentity,
                                    timeout: handshakeTimeout)
                                // A failed handshake (wrong secret, wrong job, timeout) is the reason the
                                // channel closed, rather than a bare "connection closed".
                                try channel.pipeline.syncOperations.addWireHandlers(handshake: handshake) { error in
                                    core.closed(reason: "guest link: \(error)", refused: Self.isRefusal(error))
                                }
                                try channel.pipeline.syncOperations.addHandlers([
                                    GuestWireHandler(rank: credentials.rank),
                                    GuestChannelHandler(core: core),
                                ])
                            }
                        }
                        .connect(unixDomainSocketPath: socketPath).get()
                    let guest = GuestChannel(vmName: vmName, socketPath: socketPath, channel: channel, core: core)
                    logger.debug("guest channel connected", metadata: ["vm": "\(vmName)", "socket": "\(socketPath)"])
                    return guest
                } catch {
                    lastError = error
                }
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        if let v2m = lastError as? V2MError { throw v2m }
        throw V2MError.guestChannel(vm: vmName, reason: "cannot connect to \(socketPath): \(lastError)")
    }

    /// A handshake failure no retry can mend: the other side's proof, job or identity is not ours.
    static func isRefusal(_ error: any Error) -> Bool {
        switch error as? WireError {
        case .authenticationFailed, .jobMismatch, .rejectedByPeer: return true
        default: return false
        }
    }

    /// Sends one message.
    public func send(_ message: GuestMessage) async throws {
        do {
            try await channel.writeAndFlush(message)
        } catch {
            // A write racing the peer's refusal fails with the refusal itself: the same clear error as a waiter gets.
            if Self.isRefusal(error) { throw V2MError.guestRefused(vm: vmName, reason: "guest link: \(error)") }
            throw V2MError.guestChannel(vm: vmName, reason: "write failed: \(error)")
        }
    }

    /// The most recent `ready` received, if any.
    public var lastReady: GuestInfo? { core.lastReady }

    /// True once the socket has closed.
    public var isClosed: Bool { core.closedReason != nil }

    /// Waits for the agent's `ready`, which follows a successful handshake (returns at once if one was
    /// already received).
    public func waitReady(timeout: Duration) async throws -> GuestInfo {
        if let ready = core.lastReady { return ready }
        let vm = vmName
        return try await withDeadline(timeout, onTimeout: { .guestTimeout(vm: vm, operation: "handshake") }) { [self] in
            try await self.core.nextReady()
        }
    }

    /// Asks the agent for its liveness counter and uptime.
    public func status(timeout: Duration = .seconds(5)) async throws -> GuestStatus {
        let vm = vmName
        return try await withDeadline(timeout, onTimeout: { .guestTimeout(vm: vm, operation: "statusRequest") }) { [self] in
            try await core.awaitStatus { try await self.send(.statusRequest) }
        }
    }

    /// Runs `argv` in the guest, streaming output to `onOutput`; returns the exit status (128 + signal when
    /// killed). Throws `guestExecFailed` if the agent could not start it.
    ///
    /// With `onPMI` (and `PMI_RANK` in `environment`) the command gets a PMI-1 connection as `PMI_FD`: its
    /// bytes arrive in `onPMI` with a function that sends bytes back to it. With `onPMIx` (and
    /// `PMIX_SERVER_URI*` in `environment`) the guest agent relays the command's PMIx connections to it.
    ///
    /// `stdin` is what the command reads, then end-of-file; nil: it reads end-of-file at once (a command that
    /// reads its stdin must not wait for input nobody sends).
    public func exec(_ argv: [String], environment: [String] = [], workingDirectory: String = "/",
                     stdin: AsyncStream<[UInt8]>? = nil,
                     onOutput: @escaping @Sendable (GuestMessage.OutputStream, [UInt8]) -> Void,
                     onPMI: (@Sendable (_ bytes: [UInt8], _ reply: @escaping @Sendable ([UInt8]) -> Void) -> Void)? = nil,
                     onPMIx: GuestCommand.PMIxSink? = nil)
        async throws -> Int32 {
        let id = core.allocateExecID()
        var pmiSink: (@Sendable ([UInt8]) -> Void)?
        if let onPMI {
            let channel = self.channel
            // Replies are written in the order they are made (NIO keeps the order of writes).
            let reply: @Sendable ([UInt8]) -> Void = { bytes in
                channel.writeAndFlush(GuestMessage.pmi(id: id, bytes: bytes), promise: nil)
            }
            pmiSink = { bytes in onPMI(bytes, reply) }
        }
        var pmixSink: (@Sendable (UInt32, [UInt8]) -> Void)?
        if let onPMIx {
            let channel = self.channel
            let reply: GuestCommand.PMIxReply = { connection, bytes in
                for start in stride(from: 0, to: max(bytes.count, 1), by: GuestMessageBody.maximumChunk) {
                    let piece = bytes.isEmpty ? [] : Array(bytes[start..<min(bytes.count, start + GuestMessageBody.maximumChunk)])
                    channel.writeAndFlush(GuestMessage.pmix(id: id, connection: connection, bytes: piece), promise: nil)
                }
            }
            pmixSink = { connection, bytes in onPMIx(connection, bytes, reply) }
        }
        return try await core.awaitExit(id: id, onOutput: onOutput, onPMI: pmiSink, onPMIx: pmixSink) {
            try await self.send(.exec(id: id, argv: argv, environment: environment, workingDirectory: workingDirectory))
            // After the exec, in order on the one connection; an empty payload is end-of-file.
            if let stdin {
                for await chunk in stdin where !chunk.isEmpty {
                    for start in stride(from: 0, to: chunk.count, by: GuestMessageBody.maximumChunk) {
                        let piece = Array(chunk[start..<min(chunk.count, start + GuestMessageBody.maximumChunk)])
                        try await self.send(.stdin(id: id, bytes: piece))
                    }
                }
            }
            try await self.send(.stdin(id: id, bytes: []))
        }
    }

    /// Asks the guest to power off (or reboot).
    public func requestShutdown(reboot: Bool = false) async throws {
        try await send(.shutdown(reboot: reboot))
    }

    /// Waits until the socket closes (the VM powered off or QEMU exited).
    public func waitClosed() async {
        await core.waitClosed()
    }

    /// Closes the connection; pending operations fail.
    public func close() async {
        try? await channel.close()
    }
}

/// A guest status report.
public struct GuestStatus: Sendable, Equatable {
    /// The agent's 10 Hz counter; it does not advance while the VM is paused.
    public var counter: UInt64
    public var uptimeMilliseconds: UInt64

    public init(counter: UInt64, uptimeMilliseconds: UInt64) {
        self.counter = counter
        self.uptimeMilliseconds = uptimeMilliseconds
    }
}
