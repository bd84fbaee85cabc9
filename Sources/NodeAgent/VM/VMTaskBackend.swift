import Control
import Foundation
import GuestProtocol
import Logging
import NIOCore
import NIOPosix
import Synchronization
import V2M
import VSE
import Wire

/// The tool agent's VM backend: every task of the node runs in its own VM booted from the job's VSE image
/// (V2M's QEMU plug-in via `QuickBoot`), with a per-VM hostname `<image>-r<rank>` and the usual
/// `VHPC_*` variables; output comes back line by line over the guest channel, then the exit status.
///
/// Selected when the launch environment names an image (`VHPC_VSE_IMAGE`, set by `vhpc run --vse`).
/// The image comes from the node's own cache (`VHPC_NODE_STATE`, where `vhpc run --vse` staged it over the
/// tree), else from this machine's cache. Stdin reaches the tasks `--input` names through their guest agent.
public struct VMTaskBackend: TaskBackend {
    public static let imageVariable = "VHPC_VSE_IMAGE"
    public static let vcpusVariable = "VHPC_VM_VCPUS"
    public static let memoryVariable = "VHPC_VM_MEMORY"
    /// Set by `vhpc run --no-snapshot`: the node's VMs boot cold.
    public static let noSnapshotVariable = "VHPC_VM_NO_SNAPSHOT"
    let logger: Logger

    public init(logger: Logger) {
        self.logger = logger
    }

    public func run(_ plan: NodeTaskPlan, controls: AsyncStream<TaskControl>, report: @escaping @Sendable (AgentEvent) -> Void) async {
        guard !plan.taskRanks.isEmpty else { return }
        let state = plan.environment["VHPC_NODE_STATE"].map { StateDirectory(root: $0) } ?? StateDirectory.resolve()
        let entry: ImageEntry
        do {
            entry = try ImageStore(state: state).resolve(plan.environment[Self.imageVariable] ?? "")
        } catch {
            report(.launchFailed(message: "node \(plan.node) (\(plan.host)): \(error)"))
            return
        }
        let network = JobNetwork(jobID: plan.jobID, imageName: entry.manifest.name, size: plan.size)
        let jobSwitch: JobSwitch
        do {
            jobSwitch = try await JobSwitch.start(try Self.switchConfiguration(plan, network: network, state: state), group: MultiThreadedEventLoopGroup.singleton)
        } catch {
            report(.launchFailed(message: "node \(plan.node) (\(plan.host)): \(error)"))
            return
        }
        let replies = PMIReplies()
        let pmi = plan.usesPMI ? PMINodeShell(
            configuration: plan.pmiConfiguration(tasksPerVM: true), logger: logger,
            send: { rank, bytes in replies.send(bytes, to: rank) }, report: report) : nil
        // The tasks `--input` names read the job's stdin through their guest agent; the others read end-of-file.
        var stdinStreams: [Int: AsyncStream<[UInt8]>.Continuation] = [:]
        var stdinSources: [Int: AsyncStream<[UInt8]>] = [:]
        for rank in plan.taskRanks where plan.stdinTarget.includes(rank) {
            (stdinSources[rank], stdinStreams[rank]) = AsyncStream.makeStream(of: [UInt8].self)
        }
        let stdinInputs = stdinStreams
        let stdinOutputs = stdinSources
        enum Outcome: Sendable { case taskDone, terminate, controlsClosed }
        await withTaskGroup(of: Outcome.self) { group in
            for rank in plan.taskRanks {
                group.addTask {
                    await runTask(rank: rank, plan: plan, image: entry, network: network, nic: jobSwitch.network(for: rank),
                                  pmi: pmi.map { ($0, replies) }, stdin: stdinOutputs[rank], report: report)
                    return .taskDone
                }
            }
            if let pmi {
                group.addTask {
                    await pmi.runTimer()
                    return .controlsClosed
                }
            }
            group.addTask {
                for await control in controls {
                    switch control {
                    case .stdin(let task, let data, let eos):
                        let targets = task == Int(StdinTarget.everyTask) ? Array(stdinInputs.values) : stdinInputs[task].map { [$0] } ?? []
                        for target in targets {
                            if data.readableBytes > 0 { target.yield(Array(data.readableBytesView)) }
                            if eos { target.finish() }
                        }
                        continue
                    case .pmiRelease(let epoch, let entries):
                        pmi?.release(epoch: epoch, entries: entries)
                        continue
                    case .signal, .terminate: break
                    }
                    return .terminate  // terminate or a signal: end every VM of the node
                }
                return .controlsClosed
            }
            var done = 0
            while let outcome = await group.next() {
                switch outcome {
                case .taskDone:
                    done += 1
                    if done == plan.taskRanks.count { group.cancelAll() }
                case .terminate:
                    group.cancelAll()  // QuickBoot kills QEMU when its task is cancelled
                case .controlsClosed:
                    continue
                }
            }
        }
        for input in stdinInputs.values { input.finish() }
        let (fromVMs, fromNodes) = await jobSwitch.counters()
        logger.debug("job network of node \(plan.node): \(fromVMs) frames from its VMs, \(fromNodes) from other nodes")
        await jobSwitch.stop()
    }

    /// Where `--stage` files appear in each guest (their DEST below it).
    static let guestStageDirectory = "/vhpc/staged"

    /// The node's staged files to copy into a guest, and the task environment with guest paths for them
    /// (the node's own state directory means nothing in the guest).
    static func guestStaging(_ environment: [String: String]) -> ([QuickBoot.GuestFile], [String: String]) {
        var result = environment
        result["VHPC_NODE_STATE"] = nil
        guard let stageDirectory = environment["VHPC_STAGE_DIR"] else { return ([], result) }
        result["VHPC_STAGE_DIR"] = guestStageDirectory
        var files: [QuickBoot.GuestFile] = []
        for (name, path) in environment.sorted(by: { $0.key < $1.key }) where name.hasPrefix("VHPC_STAGED_") {
            guard path.hasPrefix(stageDirectory + "/") else { continue }
            let guestPath = guestStageDirectory + "/" + path.dropFirst(stageDirectory.count + 1)
            files.append(QuickBoot.GuestFile(source: path, destination: guestPath))
            result[name] = guestPath
        }
        return (files, result)
    }

    /// This node's switch: on the address its agent listens on (the bootstrap's address table), peers = the
    /// job's other nodes, datagrams keyed by the job secret, sockets in a per-job, per-node directory of the
    /// node's state (or of /tmp when that path is too long for a unix socket).
    static func switchConfiguration(_ plan: NodeTaskPlan, network: JobNetwork, state: StateDirectory) throws -> JobSwitch.Configuration {
        guard let secret = plan.secret else {
            throw JobSwitchError.bindFailed("job network: node \(plan.node) has no job secret to key its switch with")
        }
        var peers: [Int: String] = [:]
        for (agentRank, host) in plan.nodeAddresses where agentRank != plan.agentRank { peers[agentRank] = host }
        return JobSwitch.Configuration(
            jobID: plan.jobID, secret: secret.bytes, agentRank: plan.agentRank,
            tunnelHost: plan.nodeAddresses[plan.agentRank] ?? "127.0.0.1", peers: peers, localRanks: Array(plan.taskRanks),
            directory: try JobSwitch.socketDirectory(parent: state.tmp, name: "net-\(plan.jobID.prefix(12))-n\(plan.node)",
                                                     largestRank: plan.taskRanks.last ?? 0))
    }

    private func runTask(rank: Int, plan: NodeTaskPlan, image: ImageEntry, network: JobNetwork, nic: VMNIC.Network,
                         pmi: (shell: PMINodeShell, replies: PMIReplies)?, stdin: AsyncStream<[UInt8]>?,
                         report: @escaping @Sendable (AgentEvent) -> Void) async {
        let hostname = network.hostname(of: rank)
        // The image's own PATH, HOME… win over the front-end's (see TaskEnvironment).
        var environment = plan.environment(forTask: rank, base: [:]).filter { !TaskEnvironment.vmHostOnlyNames.contains($0.key) }
        environment["VHPC_HOSTNAME"] = hostname
        environment["VHPC_HOSTS"] = network.hostsVariable
        environment["VHPC_ADDRESS"] = network.address(of: rank)
        var options = QuickBoot.Options()
        options.vcpus = plan.environment[Self.vcpusVariable].flatMap { Int($0) }
        options.memoryBytes = plan.environment[Self.memoryVariable].flatMap { UInt64($0) }
        if let pmi {
            // The guest agent sees PMI_RANK and gives the command a socketpair as PMI_FD, relayed to `pmi`.
            environment.merge(plan.pmiEnvironment(forTask: rank, fd: nil)) { _, new in new }
            options.onPMI = { bytes, reply in
                pmi.replies.register(reply, for: rank)
                pmi.shell.received(ByteBuffer(bytes: bytes), from: rank)
            }
        }
        // Staged files (`--stage`) are copied into the guest: VHPC_STAGED_<n> and VHPC_STAGE_DIR name guest paths.
        (options.files, environment) = Self.guestStaging(environment)
        options.environment = environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        options.stdin = stdin
        options.workingDirectory = plan.chdirRequired ? plan.workingDirectory : "/"
        options.kernelArguments = network.kernelArguments(for: rank)
        options.nics = [VMNIC(mac: network.mac(of: rank), network: nic)]
        options.identity = network.identity(of: rank)
        if plan.environment[Self.noSnapshotVariable] != "1" { options.snapshots = SnapshotStore.forNode(plan.environment["VHPC_NODE_STATE"]) }
        if let secret = plan.secret {
            // A per-VM secret, never the job's: it authenticates this VM's guest link and nothing else.
            options.credentials = GuestCredentials(jobID: plan.jobID, rank: UInt32(rank),
                                                   secret: secret.guestSecret(jobID: plan.jobID, rank: UInt32(rank)))
        }
        let registry = JobVMRegistry(state: StateDirectory.resolve(), jobID: plan.jobID)
        options.onBooted = { machine in registry.register(machine, rank: rank) }
        defer { registry.unregister(rank: rank) }
        let argv = [plan.executable] + plan.arguments
        let lines = LineSplitter(rank: rank, report: report)
        do {
            let result = try await QuickBoot.run(
                image: image, argv: argv, timeout: .seconds(300), options: options,
                onOutput: { stream, bytes in lines.add(stream, bytes) }, logger: logger)
            lines.finish()
            // The same rule as for processes: a rank that opened a PMI session and exited 0 without closing it.
            let check = MPIExitCheck(size: plan.size, mode: plan.mpiMode, linksMPI: false)
            let connected = pmi?.shell.hasSpoken(rank) == true, finalized = pmi?.shell.hasFinalized(rank) == true
            if let lost = PMIFenceLoss(rank: rank, status: result.exitStatus, connected: connected, finalized: finalized) {
                pmi?.shell.lose(lost)
            }
            if let message = check.failure(rank: rank, status: result.exitStatus, connected: connected, finalized: finalized) {
                report(.taskExited(task: rank, status: 1, message: message))
            } else {
                report(.taskExited(task: rank, status: result.exitStatus, message: ""))
            }
        } catch is CancellationError {
            lines.finish()
            report(.taskExited(task: rank, status: 128 + SIGTERM, message: ""))
        } catch V2MError.guestExecFailed(_, let reason) {
            // The guest could not start the command: the same exit codes as processes (127, 126, 1).
            lines.finish()
            let failure = TaskStartFailure.guest(plan.executable, reason: reason)
            report(.taskExited(task: rank, status: failure.status, message: failure.description))
        } catch {
            lines.finish()
            report(.taskExited(task: rank, status: TaskEnd.infrastructureFailureStatus, message: "VM of rank \(rank) on node \(plan.node) (\(plan.host)) failed: \(error)"))
        }
    }
}

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

/// Picks the VM backend when the job names a VSE image, the process backend otherwise.
public struct SelectingTaskBackend: TaskBackend {
    let processes: ProcessTaskBackend
    let vms: VMTaskBackend

    public init(processes: ProcessTaskBackend, vms: VMTaskBackend) {
        self.processes = processes
        self.vms = vms
    }

    public func run(_ plan: NodeTaskPlan, controls: AsyncStream<TaskControl>, report: @escaping @Sendable (AgentEvent) -> Void) async {
        if plan.environment[VMTaskBackend.imageVariable] != nil {
            await vms.run(plan, controls: controls, report: report)
        } else {
            await processes.run(plan, controls: controls, report: report)
        }
    }
}

/// Where each local rank's PMI replies go: the reply function of its VM's guest channel, known from the
/// rank's first PMI bytes.
final class PMIReplies: Sendable {
    private let table = Mutex<[Int: @Sendable ([UInt8]) -> Void]>([:])

    func register(_ reply: @escaping @Sendable ([UInt8]) -> Void, for rank: Int) {
        table.withLock { $0[rank] = reply }
    }

    func send(_ bytes: [UInt8], to rank: Int) {
        table.withLock { $0[rank] }?(bytes)
    }
}
