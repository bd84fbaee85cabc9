import Foundation
import GuestProtocol
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// The host end of a VM's guest channel: a NIO unix-socket client speaking `GuestProtocol` to the
/// in-guest agent. Sends `hello` on connect (so a reconnect after migration gets a fresh `ready`),
/// waits for `ready`, reads the 10 Hz status counter, runs commands and streams their output.
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
    public static func connect(socketPath: String, vmName: String, timeout: Duration = .seconds(10),
                               logger: Logger) async throws -> GuestChannel {
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
                                try channel.pipeline.syncOperations.addHandlers([
                                    ByteToMessageHandler(GuestMessageDecoder()),
                                    MessageToByteHandler(GuestMessageEncoder()),
                                    GuestChannelHandler(core: core),
                                ])
                            }
                        }
                        .connect(unixDomainSocketPath: socketPath).get()
                    let guest = GuestChannel(vmName: vmName, socketPath: socketPath, channel: channel, core: core)
                    logger.debug("guest channel connected", metadata: ["vm": "\(vmName)", "socket": "\(socketPath)"])
                    try? await guest.send(.hello(protocolVersion: 1))
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

    /// Sends one message.
    public func send(_ message: GuestMessage) async throws {
        do {
            try await channel.writeAndFlush(message)
        } catch {
            throw V2MError.guestChannel(vm: vmName, reason: "write failed: \(error)")
        }
    }

    /// The most recent `ready` received, if any.
    public var lastReady: GuestInfo? { core.lastReady }

    /// True once the socket has closed.
    public var isClosed: Bool { core.closedReason != nil }

    /// Waits for the agent's `ready` (returns at once if one was already received), re-sending `hello`
    /// every second.
    public func waitReady(timeout: Duration) async throws -> GuestInfo {
        if let ready = core.lastReady { return ready }
        let vm = vmName
        return try await withDeadline(timeout, onTimeout: { .guestTimeout(vm: vm, operation: "hello") }) { [self] in
            try await withThrowingTaskGroup(of: GuestInfo?.self) { group in
                group.addTask { try await self.core.nextReady() }
                group.addTask {
                    while !Task.isCancelled {
                        try await Task.sleep(for: .seconds(1))
                        try? await self.send(.hello(protocolVersion: 1))
                    }
                    return nil
                }
                defer { group.cancelAll() }
                while let result = try await group.next() {
                    if let info = result { return info }
                }
                throw CancellationError()
            }
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
    public func exec(_ argv: [String], environment: [String] = [], workingDirectory: String = "/",
                     onOutput: @escaping @Sendable (GuestMessage.OutputStream, [UInt8]) -> Void) async throws -> Int32 {
        let id = core.allocateExecID()
        return try await core.awaitExit(id: id, onOutput: onOutput) {
            try await self.send(.exec(id: id, argv: argv, environment: environment, workingDirectory: workingDirectory))
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
