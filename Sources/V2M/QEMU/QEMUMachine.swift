import Foundation
import GuestProtocol
import Logging

/// A VM booted directly under QEMU: its process, guest channel and runtime files.
///
/// The thin I/O shell used by `QuickBoot`, the accelerator probe and the `qemu` plug-in. Boot means:
/// create the qcow2 overlay (if the image has a disk), start QEMU, connect the guest channel, wait for
/// the agent's `ready` — failing fast, with the console's last lines, if QEMU exits first.
public final class QEMUMachine: Sendable {
    public let profile: VMProfile
    public let accelerator: Accelerator
    public let process: QEMUProcess
    public let guest: GuestChannel
    public let info: GuestInfo
    /// From QEMU start to the guest's `ready`.
    public let bootDuration: Duration
    public let paths: Paths

    /// Files QEMU uses for one VM, all under the profile's runtime directory.
    public struct Paths: Sendable, Equatable, Codable {
        public var qmpSocket: String
        public var consoleLog: String
        public var stderrLog: String
        public var pidFile: String

        public init(runtimeDirectory d: String) {
            qmpSocket = d + "/qmp.sock"
            consoleLog = d + "/console.log"
            stderrLog = d + "/qemu.log"
            pidFile = d + "/qemu.pid"
        }
    }

    init(profile: VMProfile, accelerator: Accelerator, process: QEMUProcess, guest: GuestChannel, info: GuestInfo,
         bootDuration: Duration, paths: Paths) {
        self.profile = profile
        self.accelerator = accelerator
        self.process = process
        self.guest = guest
        self.info = info
        self.bootDuration = bootDuration
        self.paths = paths
    }

    /// Boots `profile`. On any failure everything started is killed and removed before throwing.
    /// `incomingURI` starts it as a live migration's target; `restoreFrom` restores a saved guest (a
    /// snapshot's state file) and waits for its `ready` like a boot.
    public static func boot(_ profile: VMProfile, accelerator: Accelerator, detached: Bool = false,
                            timeout: Duration = .seconds(60), incomingURI: String? = nil, restoreFrom: String? = nil,
                            locator: ExecutableLocator = ExecutableLocator(), logger: Logger) async throws -> QEMUMachine {
        let requireReady = incomingURI == nil
        // A restore whose RAM is a mapped file loads device state only: QEMU must be told so before it loads.
        let restoreURI = restoreFrom.map { "exec:cat " + shellQuote($0) }
        let deferred = restoreURI != nil && profile.memoryFile != nil
        let incomingURI = incomingURI ?? (deferred ? "defer" : restoreURI)
        try profile.validate()
        _ = try locator.require("qemu-system-x86_64")
        let paths = Paths(runtimeDirectory: profile.runtimeDirectory)
        try? FileManager.default.createDirectory(atPath: profile.runtimeDirectory, withIntermediateDirectories: true)
        for stale in [profile.guestChannel.socketPath, paths.qmpSocket, paths.consoleLog, paths.stderrLog, paths.pidFile] {
            try? FileManager.default.removeItem(atPath: stale)
        }
        try GuestCredentialsFile.ensure(profile.guestChannel.credentialsPath, vmName: profile.name)
        if let disk = profile.disk, incomingURI == nil || !FileManager.default.fileExists(atPath: disk.overlayPath) {
            try await OverlayDisk.create(disk, locator: locator)
        }
        let commandLine = QEMUCommandLine(profile: profile, accelerator: accelerator, qmpSocketPath: paths.qmpSocket,
                                          consoleLogPath: paths.consoleLog,
                                          daemonizePIDFile: detached ? paths.pidFile : nil, incomingURI: incomingURI)
        let clock = ContinuousClock()
        let started = clock.now
        let process: QEMUProcess
        do {
            process = try await QEMUProcess.launch(commandLine, stderrPath: paths.stderrLog, locator: locator, logger: logger)
        } catch {
            removeFiles(profile: profile, paths: paths)
            throw error
        }
        do {
            if deferred, let restoreURI { try await startIncoming(restoreURI, qmpSocket: paths.qmpSocket, vm: profile.name) }
            let (guest, info) = try await connectAndWaitReady(profile: profile, process: process, paths: paths,
                                                              timeout: timeout, requireReady: requireReady)
            let machine = QEMUMachine(profile: profile, accelerator: accelerator, process: process, guest: guest,
                                      info: info, bootDuration: clock.now - started, paths: paths)
            logger.info("VM booted", metadata: ["vm": "\(profile.name)", "accelerator": "\(accelerator)",
                                                "boot.seconds": "\(machine.bootDuration.seconds)", "pid": "\(process.pid)"])
            return machine
        } catch {
            await process.terminate(grace: .milliseconds(500))
            removeFiles(profile: profile, paths: paths)
            throw error
        }
    }

    /// Connects the guest channel and waits for `ready`, racing QEMU's exit and the timeout.
    static func connectAndWaitReady(profile: VMProfile, process: QEMUProcess, paths: Paths, timeout: Duration,
                                    requireReady: Bool = true) async throws -> (GuestChannel, GuestInfo) {
        let vm = profile.name
        let seconds = timeout.seconds
        let consolePath = paths.consoleLog
        let stderrPath = paths.stderrLog
        return try await withDeadline(timeout, onTimeout: {
            .bootTimeout(vm: vm, seconds: seconds, console: QEMUProcess.tail(of: consolePath, lines: 5))
        }) {
            try await withThrowingTaskGroup(of: (GuestChannel, GuestInfo)?.self) { group in
                group.addTask {
                    do {
                        return try await connectReady()
                    } catch {
                        // A reset channel usually means QEMU died: report that, with its own words.
                        if await process.waitForExit(timeout: .milliseconds(300)) {
                            let lines = QEMUProcess.tail(of: stderrPath, lines: 3) + QEMUProcess.tail(of: consolePath, lines: 3)
                            throw V2MError.exitedDuringBoot(vm: vm, status: process.exitDescription, console: lines)
                        }
                        throw error
                    }
                }
                @Sendable func connectReady() async throws -> (GuestChannel, GuestInfo)? {
                    let guest = try await GuestChannel.connect(socketPath: profile.guestChannel.socketPath, credentialsPath: profile.guestChannel.credentialsPath, vmName: vm,
                                                               timeout: timeout, logger: Logger(label: "vhpc.v2m.guest"))
                    if !requireReady {
                        return (guest, GuestInfo(kernelRelease: "", hostname: "", vseName: "", agentVersion: "", counter: 0))
                    }
                    do {
                        return (guest, try await guest.waitReady(timeout: timeout))
                    } catch {
                        await guest.close()
                        throw error
                    }
                }
                group.addTask {
                    while process.isRunning {
                        try await Task.sleep(for: .milliseconds(50))
                    }
                    let lines = QEMUProcess.tail(of: stderrPath, lines: 3) + QEMUProcess.tail(of: consolePath, lines: 3)
                    throw V2MError.exitedDuringBoot(vm: vm, status: process.exitDescription, console: lines)
                }
                defer { group.cancelAll() }
                while let result = try await group.next() {
                    if let result { return result }
                }
                throw CancellationError()
            }
        }
    }

    /// Runs one command in the guest.
    public func exec(_ argv: [String], environment: [String] = [],
                     onOutput: @escaping @Sendable (GuestMessage.OutputStream, [UInt8]) -> Void) async throws -> Int32 {
        try await guest.exec(argv, environment: environment, onOutput: onOutput)
    }

    /// Graceful stop: guest-channel `shutdown`, wait up to `timeout` for QEMU to exit, then SIGTERM/SIGKILL.
    /// Returns true if the guest powered off by itself. Removes overlay and sockets.
    @discardableResult
    public func shutdown(timeout: Duration = .seconds(10)) async -> Bool {
        var graceful = false
        if process.isRunning {
            try? await guest.requestShutdown()
            graceful = await process.waitForExit(timeout: timeout)
            if !graceful { await process.terminate() }
        }
        await guest.close()
        Self.removeFiles(profile: profile, paths: paths)
        return graceful
    }

    /// Kills QEMU at once and removes the VM's files.
    public func kill() async {
        await process.terminate(grace: .zero)
        await guest.close()
        Self.removeFiles(profile: profile, paths: paths)
    }

    /// Removes one QEMU process's sockets and logs (a migration's retired source), nothing else.
    static func removeInstanceFiles(guestSocket: String, paths: Paths) {
        for file in [guestSocket, paths.qmpSocket, paths.pidFile, paths.consoleLog, paths.stderrLog] {
            try? FileManager.default.removeItem(atPath: file)
        }
    }

    /// Removes overlay, sockets, logs and the runtime directory (which belongs to this one VM).
    static func removeFiles(profile: VMProfile, paths: Paths) {
        let fm = FileManager.default
        if let disk = profile.disk { OverlayDisk.remove(disk) }
        for file in [profile.guestChannel.socketPath, paths.qmpSocket, paths.pidFile, paths.consoleLog, paths.stderrLog] {
            try? fm.removeItem(atPath: file)
        }
        try? fm.removeItem(atPath: profile.runtimeDirectory)
    }
}
