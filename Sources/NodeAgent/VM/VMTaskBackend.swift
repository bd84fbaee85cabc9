import Control
import Foundation
import GuestProtocol
import Logging
import NIOCore
import NIOPosix
import V2M
import VSE
import Wire

/// The tool agent's VM backend: every task of the node runs in its own VM, booted from the job's VSE image
/// through V2M — the plug-in the job names (``HypervisorSelector``: `auto`, `qemu`, `libvirt`, `simulated`),
/// one profile per task planned from the node's allocation (``ProfilePlanner``), the node's VMs as one
/// ``NodeVMSet`` of ``VirtualMachine`` handles — with hostname `<image>-r<rank>`, an address on the job network
/// and the usual `VHPC_*` variables. Output comes back line by line over the guest channel, then the exit
/// status.
///
/// Selected by a launch whose runtime is ``TaskRuntime/vms(_:)`` (`vhpc run --vse`). The image comes from the
/// node's own cache (`VHPC_NODE_STATE`, where `vhpc run --vse` staged it over the tree), else from this
/// machine's cache. Stdin reaches the tasks `--input` names through their guest agent.
public struct VMTaskBackend: TaskBackend {
    let logger: Logger

    public init(logger: Logger) {
        self.logger = logger
    }

    public func run(_ plan: NodeTaskPlan, controls: AsyncStream<TaskControl>, report: @escaping @Sendable (AgentEvent) -> Void) async {
        guard !plan.taskRanks.isEmpty else { return }
        guard case .vms(let spec) = plan.runtime else {
            report(.launchFailed(message: "node \(plan.node) (\(plan.host)): the launch names no VM image"))
            return
        }
        let nodeState = plan.environment["VHPC_NODE_STATE"].map { StateDirectory(root: $0) } ?? StateDirectory.resolve()
        let state = StateDirectory.resolve()
        let image: ImageEntry
        let hypervisor: any Hypervisor
        do {
            image = try ImageStore(state: nodeState).resolve(spec.imageID)
            guard let choice = HypervisorChoice(argument: spec.hypervisor) else {
                throw V2MError.invalidProfile("--hypervisor '\(spec.hypervisor)' is not known")
            }
            var selector = HypervisorSelector(state: state, probeImage: image, bootTimeout: .seconds(300), logger: logger)
            selector.endWithProcess = true
            let selected = try await selector.select(choice)
            // Snapshot start (the node's cache, then this machine's); no stores: cold boots, same path.
            let snapshotStart = SnapshotStart(
                boot: SnapshotBoot(stores: spec.snapshots ? SnapshotStore.forNode(plan.environment["VHPC_NODE_STATE"]) : []),
                image: image)
            if var qemu = selected.hypervisor as? QEMUHypervisor {
                qemu.snapshotStart = snapshotStart
                hypervisor = qemu
            } else if var libvirt = selected.hypervisor as? LibvirtHypervisor {
                libvirt.snapshotStart = snapshotStart
                hypervisor = libvirt
            } else {
                hypervisor = selected.hypervisor
            }
            logger.info("node \(plan.node): VMs on \(selected.explanation)")
        } catch {
            report(.launchFailed(message: "node \(plan.node) (\(plan.host)): \(error)"))
            return
        }
        await run(plan, spec: spec, image: image, hypervisor: hypervisor, state: state, nodeState: nodeState,
                  controls: controls, report: report)
    }

    /// Runs the node's tasks in VMs of `hypervisor` (the unit tests' entry, with the simulated plug-in): VM
    /// runtime files and records under `state`, the job switch's sockets under `nodeState`.
    func run(_ plan: NodeTaskPlan, spec: VMJobSpec, image: ImageEntry, hypervisor: any Hypervisor, state: StateDirectory,
             nodeState: StateDirectory, controls: AsyncStream<TaskControl>, report: @escaping @Sendable (AgentEvent) -> Void) async {
        let network = JobNetwork(jobID: plan.jobID, imageName: image.manifest.name, size: plan.size)
        let jobSwitch: JobSwitch
        do {
            jobSwitch = try await JobSwitch.start(try Self.switchConfiguration(plan, network: network, state: nodeState), group: MultiThreadedEventLoopGroup.singleton)
        } catch {
            report(.launchFailed(message: "node \(plan.node) (\(plan.host)): \(error)"))
            return
        }
        let vms: NodeVMSet
        do {
            vms = try Self.plan(plan, spec: spec, image: image, hypervisor: hypervisor, network: network, jobSwitch: jobSwitch, state: state)
        } catch {
            report(.launchFailed(message: "node \(plan.node) (\(plan.host)): \(error)"))
            await jobSwitch.stop()
            return
        }
        let task = VMTask(plan: plan, logger: logger, accelerator: Self.accelerator(of: hypervisor),
                          registry: JobVMRegistry(state: state, jobID: plan.jobID))
        let replies = PMIReplies()
        // Open MPI: the node's PMIx server runs here, in the tool agent; the guests reach it through a relay.
        var pmixEnvironments: [Int: [String: String]] = [:]
        if plan.usesPMIx {
            do {
                pmixEnvironments = try await PMIxServer.shared.joinOffPool(plan, guests: true, report: report)
            } catch {
                if plan.mpiMode == .pmix {
                    report(.launchFailed(message: "node \(plan.node) (\(plan.host)): \(error)"))
                    await PMIxServer.shared.leaveOffPool(agentRank: plan.agentRank)
                    await vms.stopAll(force: true)
                    await jobSwitch.stop()
                    return
                }
                logger.warning("node \(plan.node): no PMIx for this job: \(error)")
            }
        }
        defer { if plan.usesPMIx { PMIxServer.shared.leave(agentRank: plan.agentRank) } }
        let pmix = pmixEnvironments
        let pmi = plan.usesPMI ? PMINodeShell(
            configuration: plan.pmiConfiguration(tasksPerVM: true), logger: logger,
            send: { rank, bytes in replies.send(bytes, to: rank) }, disconnect: { rank in replies.close(rank) },
            report: report) : nil
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
            for (index, vm) in vms.vms.enumerated() {
                let rank = plan.taskRanks.lowerBound + index
                group.addTask {
                    await task.run(vm, rank: rank, network: network, pmi: pmi.map { ($0, replies) }, pmix: pmix[rank],
                                   stdin: stdinOutputs[rank], report: report)
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
                        PMIRelease.deliver(epoch: epoch, entries: entries, pmi: pmi, usesPMIx: plan.usesPMIx)
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
                    if done == vms.vms.count { group.cancelAll() }
                case .terminate:
                    group.cancelAll()  // each task force-stops its VM when cancelled
                case .controlsClosed:
                    continue
                }
            }
        }
        for input in stdinInputs.values { input.finish() }
        await vms.stopAll(force: true)  // none should be left; never leave one behind
        let (fromVMs, fromNodes) = await jobSwitch.counters()
        logger.debug("job network of node \(plan.node): \(fromVMs) frames from its VMs, \(fromNodes) from other nodes")
        await jobSwitch.stop()
    }

    /// The node's VMs: one profile per task from the node's allocation (vCPUs and memory from the job, else
    /// the image's defaults; like processes, VMs may outnumber the cores), each with the job network's
    /// kernel arguments and NIC for its rank.
    static func plan(_ plan: NodeTaskPlan, spec: VMJobSpec, image: ImageEntry, hypervisor: any Hypervisor,
                     network: JobNetwork, jobSwitch: JobSwitch, state: StateDirectory) throws -> NodeVMSet {
        let allocation = NodeAllocation(hostname: plan.host, cores: ProcessInfo.processInfo.activeProcessorCount,
                                        memoryBytes: HostFacts.totalMemory())
        let planner = ProfilePlanner(oversubscribe: true, vcpusPerVM: spec.vcpus ?? max(1, image.manifest.defaultVCPUs),
                                     memoryPerVM: spec.memoryBytes ?? image.manifest.defaultMemoryBytes,
                                     minimumMemoryBytes: 32 << 20)
        let count = plan.taskRanks.count
        // Sockets of the VMs go where their paths fit (the state's tmp, else /tmp/vhpc-<uid>).
        let longest = "\(plan.jobID)-n\(plan.node)-\(count - 1)"
        let parent = (try RuntimeDirectory.vmPath(name: longest, preferredParent: state.tmp) as NSString).deletingLastPathComponent
        return try NodeVMSet.plan(hypervisor: hypervisor, image: image, node: allocation, nodeIndex: plan.node,
                                  layout: .vmsPerNode(count), jobID: plan.jobID, runtimeParent: parent, planner: planner) { index, profile in
            let rank = plan.taskRanks.lowerBound + index
            profile.kernelCommandLine += " " + network.kernelArguments(for: rank).joined(separator: " ")
            profile.nics = [VMNIC(mac: network.mac(of: rank), network: jobSwitch.network(for: rank))]
        }
    }

    /// The accelerator the plug-in boots with (for the VMs' records).
    static func accelerator(of hypervisor: any Hypervisor) -> Accelerator {
        (hypervisor as? QEMUHypervisor)?.accelerator ?? (hypervisor as? LibvirtHypervisor)?.accelerator ?? .tcg
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
}
