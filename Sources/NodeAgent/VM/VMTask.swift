import Control
import Foundation
import GuestProtocol
import Logging
import NIOCore
import V2M
import Wire

/// One task of a node in its VM: write the VM's own guest credentials, boot it, record it (so `vhpc vm
/// list/pause/resume` reach it), copy the staged files in, run the command under the guest watchdog, stop
/// the VM and remove what it left; report the task's output and exit like a process's.
struct VMTask: Sendable {
    let plan: NodeTaskPlan
    let logger: Logger
    let accelerator: Accelerator
    let registry: JobVMRegistry
    var watchdog = GuestWatchdog()

    func run(_ vm: VirtualMachine, rank: Int, network: JobNetwork, pmi: (shell: PMINodeShell, replies: PMIReplies)?,
             pmix: [String: String]? = nil, stdin: AsyncStream<[UInt8]>?, report: @escaping @Sendable (AgentEvent) -> Void) async {
        let relay = pmix.flatMap { PMIxGuestRelay(rank: rank, environment: $0, logger: logger) }
        let (files, command) = self.command(rank: rank, network: network, pmi: pmi, pmix: pmix.map { ($0, relay) }, stdin: stdin)
        let lines = LineSplitter(rank: rank, report: report)
        defer {
            relay?.closeAll()
            registry.unregister(rank: rank)
            try? FileManager.default.removeItem(atPath: vm.profile.runtimeDirectory)
        }
        let status: Int32
        do {
            if let secret = plan.secret {
                // A per-VM secret, never the job's: it authenticates this VM's guest link and nothing else.
                // With its identity, which a VM restored from a snapshot takes on (a cold boot reads the kernel's).
                try GuestCredentialsFile.write(
                    GuestCredentials(jobID: plan.jobID, rank: UInt32(rank), secret: secret.guestSecret(jobID: plan.jobID, rank: UInt32(rank)),
                                     identity: network.identity(of: rank)),
                    to: vm.profile.guestChannel.credentialsPath)
            }
            status = try await withTaskCancellationHandler {
                try await vm.start()
                try Task.checkCancellation()
                registry.register(vm, accelerator: accelerator, rank: rank)
                for file in files { try await QuickBoot.copy(file, into: vm) }
                return try await watched(vm, command, onOutput: { stream, bytes in lines.add(stream, bytes) })
            } onCancel: {
                Task { _ = try? await vm.stop(force: true) }
            }
        } catch {
            lines.finish()
            _ = try? await vm.stop(force: true)
            try? await vm.discard()
            report(.taskExited(task: rank, status: exitStatus(of: error), message: message(for: error, rank: rank)))
            return
        }
        lines.finish()
        _ = try? await vm.stop(timeout: .seconds(10))
        // The same rule as for processes: a rank that opened a PMI session and exited 0 without closing it.
        let check = MPIExitCheck(size: plan.size, mode: plan.mpiMode, linksMPI: false)
        let session = relay == nil ? (connected: false, finalized: false) : PMIxServer.shared.session(of: rank)
        let connected = pmi?.shell.hasSpoken(rank) == true || session.connected
        let finalized = pmi?.shell.hasFinalized(rank) == true || session.finalized
        if let lost = PMIFenceLoss(rank: rank, status: status, connected: connected, finalized: finalized) {
            pmi?.shell.lose(lost)
            if relay != nil { PMIxServer.shared.lose(lost) }
        }
        if let message = check.failure(rank: rank, status: status, connected: connected, finalized: finalized) {
            report(.taskExited(task: rank, status: 1, message: message))
        } else {
            report(.taskExited(task: rank, status: status, message: ""))
        }
    }

    /// The guest command of `rank` and the staged files to copy in first.
    func command(rank: Int, network: JobNetwork, pmi: (shell: PMINodeShell, replies: PMIReplies)?,
                 pmix: (environment: [String: String], relay: PMIxGuestRelay?)? = nil,
                 stdin: AsyncStream<[UInt8]>?) -> ([QuickBoot.GuestFile], GuestCommand) {
        // The image's own PATH, HOME… win over the front-end's (see TaskEnvironment).
        var environment = plan.environment(forTask: rank, base: [:]).filter { !TaskEnvironment.vmHostOnlyNames.contains($0.key) }
        environment["VHPC_HOSTNAME"] = network.hostname(of: rank)
        environment["VHPC_HOSTS"] = network.hostsVariable
        environment["VHPC_ADDRESS"] = network.address(of: rank)
        var onPMI: (@Sendable ([UInt8], @escaping @Sendable ([UInt8]) -> Void) -> Void)?
        if let pmi {
            // The guest agent sees PMI_RANK and gives the command a socketpair as PMI_FD, relayed to `pmi`.
            environment.merge(plan.pmiEnvironment(forTask: rank, fd: nil)) { _, new in new }
            onPMI = { bytes, reply in
                pmi.replies.register(reply, for: rank)
                pmi.shell.received(ByteBuffer(bytes: bytes), from: rank)
            }
        }
        var onPMIx: GuestCommand.PMIxSink?
        if let pmix, let relay = pmix.relay {
            // PMIX_SERVER_URI* make the guest agent listen on the guest's loopback and relay to `relay`.
            environment.merge(pmix.environment) { _, new in new }
            onPMIx = { connection, bytes, reply in relay.received(connection, bytes, reply: reply) }
        }
        // Staged files (`--stage`) are copied into the guest: VHPC_STAGED_<n> and VHPC_STAGE_DIR name guest paths.
        let (files, guestEnvironment) = VMTaskBackend.guestStaging(environment)
        let command = GuestCommand(
            [plan.executable] + plan.arguments, environment: guestEnvironment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" },
            workingDirectory: plan.chdirRequired ? plan.workingDirectory : "/", stdin: stdin, onPMI: onPMI, onPMIx: onPMIx)
        return (files, command)
    }

    /// Runs `command` racing the guest watchdog: a guest that stops answering (QEMU stopped, guest agent
    /// killed) fails the command instead of hanging it.
    func watched(_ vm: VirtualMachine, _ command: GuestCommand,
                 onOutput: @escaping @Sendable (GuestMessage.OutputStream, [UInt8]) -> Void) async throws -> Int32 {
        try await withThrowingTaskGroup(of: Int32?.self) { group in
            group.addTask { try await vm.run(command, onOutput: onOutput) }
            group.addTask {
                let reason = await watchdog.watch(vm)
                guard !reason.isEmpty else { return nil }
                Task { _ = try? await vm.stop(force: true) }  // ends the command too
                throw V2MError.guestExecFailed(vm: vm.name, reason: reason)
            }
            while let result = try await group.next() {
                if let status = result {
                    group.cancelAll()
                    return status
                }
            }
            throw CancellationError()
        }
    }

    /// A failed task's exit status: as processes (127, 126, 1) when the guest could not start the command,
    /// 128 + SIGTERM when the job ended it, else the infrastructure-failure status.
    func exitStatus(of error: any Error) -> Int32 {
        if Task.isCancelled || error is CancellationError { return 128 + SIGTERM }
        if case V2MError.guestExecFailed(_, let reason) = error, !reason.contains("has not answered") {
            return TaskStartFailure.guest(plan.executable, reason: reason).status
        }
        return TaskEnd.infrastructureFailureStatus
    }

    func message(for error: any Error, rank: Int) -> String {
        if Task.isCancelled || error is CancellationError { return "" }
        if case V2MError.guestExecFailed(_, let reason) = error, !reason.contains("has not answered") {
            return TaskStartFailure.guest(plan.executable, reason: reason).description
        }
        return "VM of rank \(rank) on node \(plan.node) (\(plan.host)) failed: \(error)"
    }
}
