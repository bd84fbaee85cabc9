// STATUS: ready — `QuickBoot.run` is usable (boot an image under QEMU, run one command, tear down).

import Foundation
import GuestProtocol
import Logging
import Synchronization
import VSE

/// Boot an image under QEMU, run one command in it through the guest agent, shut it down.
///
/// For `vhpc vse boot` and smoke tests. Steps: resolve the accelerator (probe KVM by booting, cached per
/// host boot; else TCG), create a per-VM qcow2 overlay when the image has a disk, start QEMU (dies with
/// this process), connect the guest channel, wait for `ready`, run `argv` streaming its output to
/// `onOutput`, then power the guest off (guest-channel `shutdown`, QEMU killed after `shutdownTimeout`)
/// and remove overlay, sockets and logs. Errors are `V2MError`s naming the cause (qemu missing from PATH,
/// boot timeout with the last console lines, guest exec failure).
public enum QuickBoot {
    /// Options beyond the essentials.
    public struct Options: Sendable {
        public var vcpus: Int?
        public var memoryBytes: UInt64?
        /// Extra `KEY=VALUE` environment for the command.
        public var environment: [String] = []
        /// Extra kernel command-line words (e.g. `vhpc.hostname=…`, `vhpc.ip=…`, read by the image's init).
        public var kernelArguments: [String] = []
        /// Virtual NICs (e.g. a port of the job network's switch).
        public var nics: [VMNIC] = []
        public var workingDirectory: String = "/"
        /// How long to wait for the guest's power-off before killing QEMU.
        public var shutdownTimeout: Duration = .seconds(10)
        /// Where runtime files go (defaults to `StateDirectory.resolve()`'s tmp).
        public var state: StateDirectory = .resolve()
        /// PATH used to find qemu-system-x86_64 and qemu-img.
        public var searchPath: String? = nil
        /// The guest agent's job id, rank and secret (a job's tool agent passes the job's); nil for a secret
        /// of the VM's own.
        public var credentials: GuestCredentials? = nil
        /// The command's PMI-1 traffic (see `GuestChannel.exec(_:environment:workingDirectory:onOutput:onPMI:)`).
        public var onPMI: (@Sendable (_ bytes: [UInt8], _ reply: @escaping @Sendable ([UInt8]) -> Void) -> Void)? = nil
        /// The command's stdin, then end-of-file; nil: end-of-file at once.
        public var stdin: AsyncStream<[UInt8]>? = nil
        /// Host files copied into the guest before the command runs (through the guest agent: `sh`, `mkdir`,
        /// `cat` and `chmod` must exist in the image); the source's permission bits are kept.
        public var files: [GuestFile] = []
        /// Called once the guest is ready, before the command starts (a job's tool agent records the VM so
        /// `vhpc vm list/pause/resume` can find it).
        public var onBooted: (@Sendable (QEMUMachine) -> Void)? = nil
        /// Snapshot caches (``SnapshotBoot``): the VM starts from a saved guest of its image and shape, saving
        /// one into the first when none exists. Empty: always a cold boot.
        public var snapshots: [SnapshotStore] = []
        /// Who the VM is when restored from a snapshot (a cold boot reads `kernelArguments` instead).
        public var identity: GuestIdentity? = nil
        /// How a guest that stops answering during the command is caught.
        var watchdog = GuestWatchdog()

        public init() {}
    }

    /// Boots `image`, runs `argv`, returns its exit status. `timeout` bounds the boot (QEMU start to guest
    /// `ready`), not the command.
    public static func run(image: ImageEntry, argv: [String], timeout: Duration = .seconds(60),
                           accelerator: AcceleratorChoice = .auto, options: Options = Options(),
                           onOutput: @escaping @Sendable (GuestMessage.OutputStream, [UInt8]) -> Void,
                           logger: Logger) async throws -> QuickBootResult {
        let locator = ExecutableLocator(searchPath: options.searchPath)
        _ = try locator.require("qemu-system-x86_64")
        if image.diskPath != nil { _ = try locator.require("qemu-img") }
        let verdict = await AcceleratorProbe(state: options.state, locator: locator)
            .resolve(accelerator, image: image, logger: logger)
        logger.info("accelerator: \(verdict.accelerator) (\(verdict.reason)\(verdict.cached ? ", cached" : ""))")
        let name = RuntimeDirectory.uniqueName(prefix: "boot")
        let directory = try RuntimeDirectory.make(name: name, preferredParent: options.state.tmp)
        var profile = VMProfile(image: image, name: name, vcpus: options.vcpus, memoryBytes: options.memoryBytes,
                                runtimeDirectory: directory, nics: options.nics)
        if !options.kernelArguments.isEmpty {
            profile.kernelCommandLine += " " + options.kernelArguments.joined(separator: " ")
        }
        let machine: QEMUMachine
        let restored: Bool
        do {
            (machine, restored) = try await SnapshotBoot(stores: options.snapshots).boot(
                image: image, profile: profile, credentials: options.credentials,
                identity: options.identity ?? GuestIdentity(hostname: ""), accelerator: verdict.accelerator,
                timeout: timeout, locator: locator, logger: logger)
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
        options.onBooted?(machine)
        let clock = ContinuousClock()
        let started = clock.now
        let status: Int32
        do {
            status = try await withTaskCancellationHandler {
                for file in options.files { try await copy(file, into: machine.guest) }
                // The command races the guest watchdog: a guest that stops answering (QEMU stopped, guest agent
                // killed) fails the command instead of hanging it.
                return try await withThrowingTaskGroup(of: Int32?.self) { group in
                    group.addTask {
                        try await machine.guest.exec(argv, environment: options.environment,
                                                     workingDirectory: options.workingDirectory, stdin: options.stdin,
                                                     onOutput: onOutput, onPMI: options.onPMI)
                    }
                    group.addTask {
                        let reason = await options.watchdog.watch(machine)
                        guard !reason.isEmpty else { return nil }
                        machine.process.signal(SIGKILL)
                        throw V2MError.guestExecFailed(vm: machine.profile.name, reason: reason)
                    }
                    while let result = try await group.next() {
                        if let status = result {
                            group.cancelAll()
                            return status
                        }
                    }
                    throw CancellationError()
                }
            } onCancel: {
                machine.process.signal(SIGKILL)
            }
        } catch {
            await machine.kill()
            try? FileManager.default.removeItem(atPath: directory)
            if Task.isCancelled { throw CancellationError() }
            throw error
        }
        let runDuration = clock.now - started
        let graceful = await machine.shutdown(timeout: options.shutdownTimeout)
        try? FileManager.default.removeItem(atPath: directory)
        return QuickBootResult(exitStatus: status, accelerator: verdict.accelerator, acceleratorReason: verdict.reason,
                               guest: machine.info, bootDuration: machine.bootDuration, runDuration: runDuration,
                               gracefulShutdown: graceful, restored: restored)
    }
}

extension QuickBoot {
    /// A host file to put at `destination` in the guest.
    public struct GuestFile: Sendable, Hashable {
        public var source: String
        public var destination: String

        public init(source: String, destination: String) {
            self.source = source
            self.destination = destination
        }
    }

    /// Streams `file` into the guest as the stdin of `cat`; throws if the guest could not write it.
    static func copy(_ file: GuestFile, into guest: GuestChannel) async throws {
        try await copy(file) { command, onOutput in try await guest.run(command, onOutput: onOutput) }
    }

    /// Streams `file` into `vm`'s guest as the stdin of `cat`; throws if the guest could not write it.
    public static func copy(_ file: GuestFile, into vm: VirtualMachine) async throws {
        try await copy(file) { command, onOutput in try await vm.run(command, onOutput: onOutput) }
    }

    /// The copy itself, over whatever runs a command in the guest.
    static func copy(_ file: GuestFile, run: (GuestCommand, @escaping @Sendable (GuestMessage.OutputStream, [UInt8]) -> Void) async throws -> Int32) async throws {
        guard let handle = FileHandle(forReadingAtPath: file.source) else {
            throw V2MError.guestExecFailed(vm: "guest", reason: "cannot read \(file.source) to copy it into the guest")
        }
        let mode = ((try? FileManager.default.attributesOfItem(atPath: file.source)[.posixPermissions]) as? Int) ?? 0o644
        let (chunks, feed) = AsyncStream.makeStream(of: [UInt8].self, bufferingPolicy: .bufferingOldest(4))
        let reader = Thread {
            defer { try? handle.close() }
            while let data = try? handle.read(upToCount: 64 * 1024), !data.isEmpty {
                // Bounded: wait while the guest is slower than the disk.
                while case .dropped = feed.yield([UInt8](data)) { usleep(1000) }
            }
            feed.finish()
        }
        reader.start()
        let script = "mkdir -p \"${1%/*}\" && cat > \"$1\" && chmod \"$2\" \"$1\""
        let errors = Mutex<[UInt8]>([])
        let status = try await run(GuestCommand(["sh", "-c", script, "sh", file.destination, String(mode & 0o7777, radix: 8)], stdin: chunks)) { stream, bytes in
            if stream == .stderr { errors.withLock { $0 += bytes } }
        }
        guard status == 0 else {
            throw V2MError.guestExecFailed(vm: "guest", reason: "copying \(file.source) to \(file.destination) failed (exit \(status)): \(String(decoding: errors.withLock { $0.prefix(500) }, as: UTF8.self))")
        }
    }
}

/// What `QuickBoot.run` reports.
public struct QuickBootResult: Sendable, Equatable {
    /// The command's exit status (128 + signal when killed by one).
    public var exitStatus: Int32
    public var accelerator: Accelerator
    /// Why that accelerator ("requested", "KVM probe failed …; using TCG", …).
    public var acceleratorReason: String
    /// What the guest agent reported at `ready`.
    public var guest: GuestInfo
    /// QEMU start to guest `ready`.
    public var bootDuration: Duration
    /// The command's run time.
    public var runDuration: Duration
    /// True if the guest powered off by itself after `shutdown` (false: QEMU had to be killed).
    public var gracefulShutdown: Bool
    /// True if the VM started from a snapshot rather than a cold boot.
    public var restored: Bool = false
}
