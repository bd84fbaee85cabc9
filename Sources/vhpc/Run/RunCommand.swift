import ArgumentParser
import Control
import Foundation
import HostProcess
import V2M
import VSE
import Launch
import JobHistory
import Logging
import NodeAgent
import NIOCore
import Wire

/// `vhpc run`: start agents over N nodes, run a command as T tasks, forward output, aggregate exit codes.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        // `run` is vhpc's subcommand even when parsed as the root (`VHPC.main`'s direct path): the parser then
        // names the tool `vhpc run` and skips its completion-script probe (two more argument sets, 2.5 ms of a
        // start's CPU), which `rootedArguments` leaves to the root parser anyway.
        _superCommandName: "vhpc",
        abstract: "Run a command as parallel tasks over nodes (like srun/mpirun), with fault-tolerant agents.",
        usage: """
            vhpc run [-N NODES] [-n TASKS] [OPTIONS] [--] CMD [ARGS...]
            vhpc run --vse SPEC|IMAGE [-N NODES] [--vms-per-node K] [OPTIONS] [--] CMD [ARGS...]
            """,
        discussion: """
            Options take attached values as srun's do (-N4 -n16); the first argument that is not an option \
            starts the program, whose own options stay its own; `--` before it is optional. An unknown option \
            before the program is an error.

            TASK ENVIRONMENT: VHPC_RANK, VHPC_SIZE, VHPC_NODE (0-based), VHPC_LOCAL_RANK, VHPC_JOB; with PMI-1 \
            (MPICH; --mpi auto or pmi1) PMI_RANK, PMI_SIZE, PMI_FD; with PMIx (Open MPI; --mpi auto or pmix) \
            PMIX_NAMESPACE, PMIX_RANK, PMIX_SERVER_URI* and the rest of PMIx_server_setup_fork's; with --stage \
            VHPC_STAGED_<n>, VHPC_STAGE_DIR; in VMs \
            VHPC_HOSTNAME, VHPC_ADDRESS, VHPC_HOSTS. The rest comes from --export (default ALL, less host-only \
            variables) and -x.

            STDIN AND OUTPUT: stdin goes to task 0 (--input RANK|all|none); the others read end-of-file. Task \
            stdout and stderr come back whole lines at a time, `RANK: ` prefixed with -l, or into -o/-e files.

            EXIT CODE: the failed task's code (a signal: 128 + its number); by default the first task that \
            fails ends the job (-K 0 lets the others finish); 127 command not found, 126 not executable; \
            124 when --time runs out; 141 when our stdout is a closed pipe; 1 when agents fail or the job \
            cannot start; 64 when an option's value is malformed (a usage error, one line). Each failed task gets one line on stderr naming its rank and node.
            """
    )

    @Option(name: [.customShort("N", allowingJoined: true), .customLong("nodes")], help: "Number of nodes.") var nodes: Int?
    @Option(name: [.customShort("n", allowingJoined: true), .customLong("ntasks")], help: "Number of tasks (default: one per node).")
    var ntasks: Int?
    @Option(name: .customLong("ntasks-per-node"), help: "Tasks per node.") var ntasksPerNode: Int?
    @Option(name: [.customShort("w", allowingJoined: true), .customLong("nodelist")], help: "Hostlist, e.g. 'node[01-04],gpu7'.")
    var hostlist: String?
    @Option(name: .customLong("hostfile"), help: "File with one host per line.") var hostfile: String?
    @Option(help: "Launcher: local, ssh, slurm or pbs (default: slurm inside a Slurm allocation, pbs inside a PBS job, else local).") var launcher: LauncherKind?
    @Option(name: .customLong("frontend-address"), help: "Address agents dial this front-end at (default: this machine's address on the route to the first node).")
    var frontendAddress: String?
    @Option(help: "With --launcher slurm outside an allocation: the partition to allocate in.") var partition: String?
    @Option(help: "With --launcher slurm outside an allocation: the account to charge.") var account: String?
    @Option(help: "Boot tree fanout (k of the k-ary tree; default 4, or 2 when files or an image are staged).") var fanout: Int?
    @Flag(name: [.customShort("l"), .long], help: "Prefix each output line with the task rank.") var label = false
    // Options with a default take it in a computed property below (`onFailure`, `killWait`, …; `--stage-chunk-size`
    // leaves it to the plan), not on the stored one: ArgumentParser describes a stored default by casting it to `CaseIterable & RawRepresentable` and, for
    // a type that is not both, through `"\(value)"` — conformance scans of the binary (a uprobe count: 33 on the
    // parse's thread with the defaults stored, 26 without; `run -N 16 -- true` 0.98x in two calls of 100 pairs).
    @Option(name: .customLong("on-failure"), help: "abort or continue: what an agent failure (and, unless -K is given, a task failure) does (default: abort).")
    var onFailureGiven: JobOptions.FailurePolicy?
    @Option(name: [.customShort("K"), .customLong("kill-on-bad-exit")],
            help: "1: a task that exits non-zero or is killed by a signal ends the job (default, like mpirun); 0: the others finish.")
    var killOnBadExit: Int?
    @Option(name: .customLong("kill-wait"), help: ArgumentHelp("Time between SIGTERM and SIGKILL when the job is ended (like Slurm's KillWait). (default: 2s)", valueName: "DURATION"))
    var killWaitGiven: DurationArgument?
    @Option(name: .customLong("export"), help: ArgumentHelp("Environment for the tasks: ALL (default: ours, minus host-only variables), NONE, or VAR[,VAR=value]… (only those; ALL,VAR=value adds to ALL).", valueName: "ALL|NONE|VARS"))
    var exportGiven: String?
    @Option(name: .customShort("x"), help: ArgumentHelp(
        "Export VAR (from our environment) or set VAR=value in every task, as mpirun's -x (repeatable).",
        valueName: "VAR[=value]")) var exportVariables: [String] = []
    @Option(name: [.customShort("D"), .customLong("chdir")], help: "Working directory of the tasks (must exist on every node, or in the guest with --vse; default: ours where it exists on the node, else HOME; / in VMs).")
    var chdir: String?
    @Option(name: [.customShort("i"), .customLong("input")], help: "Which tasks read our stdin: a rank (default 0, as srun), all, or none; the others read end-of-file.")
    var inputGiven: String?
    @Option(name: [.customShort("t"), .customLong("time")], help: "Time limit (srun syntax: minutes, MM:SS, HH:MM:SS, D-HH[:MM[:SS]]); the job then ends with exit 124.")
    var timeLimit: String?
    @Option(name: .customLong("heartbeat"), help: ArgumentHelp("Heartbeat period, e.g. 2s, 500ms; 0 disables. (default: 2s)", valueName: "DURATION"))
    var heartbeatGiven: DurationArgument?
    @Option(name: .customLong("heartbeat-timeout"), help: ArgumentHelp("Silence before a peer is declared failed (default 1.5 x period).", valueName: "DURATION"))
    var heartbeatTimeout: DurationArgument?
    @Option(name: .customLong("handshake-timeout"), help: ArgumentHelp("Window for an agent's handshake with its parent. (default: 10s)", valueName: "DURATION"))
    var handshakeTimeoutGiven: DurationArgument?
    @Option(name: .customLong("agents-per-process"),
            help: "Root agents hosted per OS process (default: 1; with the local launcher 256 from 16 nodes on).")
    var agentsPerProcess: Int?
    @Option(name: .customLong("stall-rank"), help: .hidden) var stallRanks: [Int] = []
    @Flag(name: .long, help: "Log agent activity to stderr.") var verbose = false
    @Option(name: .customLong("metrics-listen"), help: ArgumentHelp(
        "Serve the job's metrics in Prometheus's text format at http://ADDR:PORT/metrics while it runs (ADDR defaults to 127.0.0.1; PORT 0 picks one).",
        valueName: "[ADDR:]PORT")) var metricsListen: String?
    @Option(name: [.customShort("J"), .customLong("job-name")],
            help: "Name of the job in `vhpc jobs` and `vhpc status NAME` (default: $VHPC_JOB_NAME).") var jobName: String?
    @Option(help: "Run every task in its own VM booted from this VSE (a spec file, or an image name or id).") var vse: String?
    @Option(name: .customLong("vms-per-node"), help: "With --vse: VMs (tasks) per node (default: one per core).") var vmsPerNode: Int?
    @Option(name: [.customShort("c", allowingJoined: true), .customLong("cpus-per-task")],
            help: "CPUs per task: with --vse, the vCPUs of each task's VM (same as --vcpus).") var cpusPerTask: Int?
    // The VM's shape (``VMShapeOptions``'s two options, declared here rather than as an `@OptionGroup`: the
    // group's reflection made ~8 conformance scans on the parse's thread, 0.95x the start of `run -N 16`).
    @Option(help: "With --vse: virtual CPUs of each VM (default: the image's).") var vcpus: Int?
    @Option(help: ArgumentHelp("With --vse: memory of each VM, e.g. 512M or 2G, at least 32M (default: the image's).", valueName: "SIZE"))
    var memory: String?
    @Option(name: [.customShort("o", allowingJoined: true), .customLong("output")], help: ArgumentHelp(
        "Write task stdout to files instead: %t task rank, %n node index, %N node host, %j job id (one file when none is used).",
        valueName: "PATTERN")) var output: String?
    @Option(name: [.customShort("e", allowingJoined: true), .customLong("error")], help: ArgumentHelp(
        "Write task stderr to files (same fields as --output; default: where --output goes).", valueName: "PATTERN"))
    var error: String?
    @Flag(help: "Run even when the job asks for more vCPUs per node than the node has cores.") var overcommit = false
    @Option(name: .customLong("hypervisor"), help: "With --vse: the V2M plug-in that boots the VMs: auto, qemu, libvirt or simulated (default: auto).")
    var hypervisorGiven: HypervisorChoice?
    @Flag(name: .customLong("no-snapshot"), help: "With --vse: boot every VM cold instead of restoring its image's saved guest.") var noSnapshot = false
    @Option(name: .customLong("mpi"), help: "auto (every task gets both a PMI-1 server, for MPICH, and the node's PMIx server, for Open MPI; a program that links only MPICH's library gets PMI-1 alone, one that can start no MPI, such as true or hostname, neither), pmi1, pmix or none (default: auto).")
    var mpiGiven: NodeTaskPlan.MPIMode?
    @Option(name: .customLong("stage"), help: ArgumentHelp(
        "Stage FILE to every node before the tasks start (repeatable); tasks find it as $VHPC_STAGED_<n> (n from 0), under $VHPC_STAGE_DIR/DEST.",
        valueName: "FILE[:DEST]")) var stage: [String] = []
    @Option(name: .customLong("stage-chunk-size"), help: .hidden) var stageChunkSize: Int?
    @Argument(parsing: .captureForPassthrough, help: "-- CMD [ARGS…]") var command: [String] = []

    var onFailure: JobOptions.FailurePolicy { onFailureGiven ?? .abort }
    var killWait: DurationArgument { killWaitGiven ?? DurationArgument("2s") }
    var export: String { exportGiven ?? "ALL" }
    var input: String { inputGiven ?? "0" }
    var heartbeat: DurationArgument { heartbeatGiven ?? DurationArgument("2s") }
    var handshakeTimeout: DurationArgument { handshakeTimeoutGiven ?? DurationArgument("10s") }
    var hypervisor: HypervisorChoice { hypervisorGiven ?? .auto }
    var mpi: NodeTaskPlan.MPIMode { mpiGiven ?? .auto }

    /// `--vcpus` and `--memory` as ``VMShapeOptions``, which `vm start` and `vse boot` share.
    var shape: VMShapeOptions {
        var shape = VMShapeOptions()
        shape.vcpus = vcpus
        shape.memory = memory
        return shape
    }

    /// Checked by the parser, before anything runs (a Slurm allocation included).
    func validate() throws {
        try shape.validate()
    }

    func run() async throws {
        LoggingSetup.bootstrap(verbose: verbose)
        RunSignals.catchEarly()
        var command = self.command
        if command.first == "--help" || command.first == "-h" {
            print(Self.helpMessage())
            return
        }
        if command.first == "--" {
            command.removeFirst()
        } else if let first = command.first, first.hasPrefix("-"), first.count > 1 {
            // Everything from the program on is the program's; before it, an option we do not know is an error.
            throw CLIErrors.fail("unknown option '\(first)' (see `vhpc run --help`; put `--` before a program whose name starts with '-')")
        }
        let environment = ProcessInfo.processInfo.environment  // built anew on every read of the property
        let launcher = LauncherChoice.resolve(explicit: self.launcher?.rawValue, environment: environment)
        if launcher == "slurm", try RunPlan.slurmAllocation(environment) == nil {
            guard let salloc = ExecutableLookup.resolve("salloc") else {
                throw CLIErrors.fail("--launcher slurm outside an allocation needs salloc, which is not in PATH")
            }
            try SlurmAllocate.exec(SlurmAllocate.command(
                salloc: salloc, nodes: nodes, hostlist: hostlist, partition: partition, time: timeLimit, account: account,
                executable: ExecutableLookup.currentExecutable(), arguments: Array(CommandLine.arguments.dropFirst())))
        }
        if let cpusPerTask, let vcpus = shape.vcpus, cpusPerTask != vcpus {
            throw CLIErrors.fail("-c/--cpus-per-task \(cpusPerTask) and --vcpus \(vcpus) disagree")
        }
        var vmSettings = try VMSettings.parse(vse: vse, shape: shape, cpusPerTask: cpusPerTask, hypervisor: hypervisor.description)
        vmSettings.snapshots = !noSnapshot
        var image: ImageEntry?
        if let vse { image = try VSEBuildCommand.resolveImage(vse, verbose: verbose) }
        let perNode = vse == nil ? ntasksPerNode : (vmsPerNode ?? ntasksPerNode ?? ProcessInfo.processInfo.activeProcessorCount)
        if let vmsPerNode, vmsPerNode < 1 { throw CLIErrors.fail("--vms-per-node must be at least 1") }
        let plan = try RunPlan.make(
            nodes: nodes, ntasks: ntasks, ntasksPerNode: perNode, hostlist: hostlist, hostfile: hostfile,
            launcher: launcher, fanout: fanout ?? RunDefaults.fanout(staging: vse != nil || !stage.isEmpty), onFailure: onFailure, heartbeat: heartbeat, heartbeatTimeout: heartbeatTimeout?.duration,
            handshakeTimeout: handshakeTimeout.duration, agentsPerProcess: agentsPerProcess ?? RunDefaults.agentsPerProcess(launcher: launcher, nodes: nodes ?? 1), command: command,
            commandRunsInVMs: vse != nil, frontendAddress: frontendAddress, environment: environment)
        if launcher == "local" {
            // Every node is this machine: check that the job fits before starting anything.
            let perProcess = max(1, agentsPerProcess ?? RunDefaults.agentsPerProcess(launcher: launcher, nodes: plan.options.nodeCount))
            var demand = JobCapacity.Demand(
                nodes: plan.options.nodeCount, tasks: plan.options.taskCount,
                agentProcesses: (plan.options.nodeCount + perProcess - 1) / perProcess, nodesShareHost: true)
            if let image {
                demand.vmsPerNode = (plan.options.taskCount + plan.options.nodeCount - 1) / plan.options.nodeCount
                demand.vcpus = vmSettings.vcpus ?? max(1, image.manifest.defaultVCPUs)
                demand.vmMemory = vmSettings.memoryBytes ?? image.manifest.defaultMemoryBytes
            }
            demand.overcommit = overcommit
            if let problem = JobCapacity.check(demand, host: HostFacts.current()) { throw CLIErrors.fail(problem) }
        }
        ResourceLimits.raiseOpenFiles()
        signal(SIGPIPE, SIG_IGN)
        ProcessSpawner.becomeSubreaper()
        let launcherSpawner: any AgentSpawner
        do {
            if launcher == "slurm" {
                let slurm = try SlurmLauncher.installed(versionCache: SrunVersionCache(directory: StateDirectory.resolve(environment: environment).root + "/cache"))
                let step = SlurmStepSpawner(srun: slurm.srun, version: slurm.version, killOnBadExit: plan.options.onFailure == .abort)
                // The allocation's resident agents (`vhpc agents start`), where they run on every node of the job.
                if let allocation = try RunPlan.slurmAllocation(environment),
                   let residents = ResidentAgentsFile.load(allocation: allocation.jobID, environment: environment),
                   residents.covers(plan.options.hosts), !ResidentAgentsFile.isStale(residents) {
                    launcherSpawner = ResidentStepSpawner(residents: residents, fallback: step, warn: { CLIErrors.printError($0) })
                        .predial(hosts: plan.options.hosts, window: plan.options.handshakeWindow)
                } else {
                    launcherSpawner = step
                }
            } else if launcher == "pbs" {
                let local: Set<String> = ["localhost", ProcessInfo.processInfo.hostName, plan.options.advertisedHost ?? "127.0.0.1"]
                launcherSpawner = LauncherAgentSpawner(launcher: PBSLauncher(localNames: local))
            } else if launcher == "local", vse == nil, InProcessAgentSpawner.hostsWholeFirstLevel(
                nodeCount: plan.options.nodeCount, fanout: plan.options.fanout, agentsPerProcess: plan.options.agentsPerProcess) {
                // One agent process would host every node: it is this one (no second process start and exit).
                launcherSpawner = InProcessAgentSpawner()
            } else {
                launcherSpawner = LauncherAgentSpawner(launcher: try LauncherFactory.make(named: launcher))
            }
            if !(launcherSpawner is InProcessAgentSpawner) { try AgentExecutable.check(AgentExecutable.beside()) }
        } catch {
            throw CLIErrors.fail("\(error)")
        }
        var options = plan.options
        options.stallRanks = stallRanks
        if let killOnBadExit, ![0, 1].contains(killOnBadExit) { throw CLIErrors.fail("-K/--kill-on-bad-exit must be 0 or 1 (got \(killOnBadExit))") }
        options.policy.killOnBadExit = killOnBadExit.map { $0 == 1 } ?? (options.onFailure == .abort)
        guard let stdinTarget = StdinTarget(input) else { throw CLIErrors.fail("--input must be all, none or a task rank (got '\(input)')") }
        if case .rank(let rank) = stdinTarget, rank >= options.taskCount {
            throw CLIErrors.fail("--input \(rank): the job has \(options.taskCount) tasks (ranks 0-\(options.taskCount - 1))")
        }
        options.stdinTarget = stdinTarget
        options.policy.killWait = killWait.duration
        do { options.policy.timeLimit = try timeLimit.flatMap { try TimeLimit.parse($0) } } catch { throw CLIErrors.fail("\(error)") }
        let stageChunkSize = self.stageChunkSize ?? StagePlan.defaultChunkSize
        guard stageChunkSize >= 4096, stageChunkSize <= 1 << 20 else { throw CLIErrors.fail("--stage-chunk-size must be 4096…1048576") }
        options.staging = try StagePlan.jobFiles(stage, chunkSize: stageChunkSize)
        options.fullAddressTable = vse != nil  // the job network joins every node to every other
        if let image {
            options.staging += try StagePlan.image(image, firstTransferID: 1000, chunkSize: stageChunkSize)
        }
        if let image { options.runtime = vmSettings.runtime(imageID: image.manifest.id) }
        options.environment[NodeTaskPlan.mpiVariable] = mpi.rawValue
        // With a task on every node each agent process's PMIx node is named by its first agent, known before
        // the launch: the server can start alongside the bootstrap (VMs are served PMI-1 only).
        options.prestartsPMIx = (mpi == .auto || mpi == .pmix) && image == nil && options.taskCount >= options.nodeCount
        let exported: (variables: [String: String], only: Bool)
        do { exported = try TaskEnvironment.exported(export, from: environment) } catch { throw CLIErrors.fail("\(error)") }
        var extra: [String: String] = [:]
        for item in exportVariables {
            do {
                extra.merge(try TaskEnvironment.exported(item, from: environment).variables) { _, new in new }
            } catch {
                throw CLIErrors.fail("-x: \(String(describing: error).replacingOccurrences(of: "--export: ", with: ""))")
            }
        }
        options.environment = exported.variables.merging(extra) { _, new in new }.merging(options.environment) { _, own in own }
        if exported.only { options.environment[TaskEnvironment.exportOnlyVariable] = "1" }
        if let chdir {
            options.workingDirectory = chdir.hasPrefix("/") ? chdir : options.workingDirectory + "/" + chdir
            options.environment[TaskEnvironment.chdirRequiredVariable] = "1"
        }
        // Under auto a program that links only MPICH's library is served PMI-1 alone, and one that can start no
        // MPI (`true`) neither (NodeTaskPlan.servesPMIx): no PMIx server to start for them. Read from this
        // machine's copy of the program, a hint: the node decides.
        if options.prestartsPMIx, mpi == .auto, let program = command.first,
           let found = ExecutableLookup.resolve(ExecutableLookup.anchored(program, in: options.workingDirectory), path: options.environment["PATH"]) {
            options.prestartsPMIx = MPILinkage.shared.libraries(found, runningWith: environment, options.environment).getsPMIxUnderAuto
        }
        // MPICH 4.0.2 can hang in MPI_Finalize with three or more ranks over TCP (its bug #6596), which is
        // how VMs talk; barriers without data are released 2 s after their first rank came (see PMINodeServer).
        if vse != nil, mpi == .pmi1 || mpi == .auto { options.environment[NodeTaskPlan.pmiLenientVariable] = "2000" }
        options.agentLogLevel = environment["VHPC_AGENT_LOG"] ?? (verbose ? "debug" : "warning")
        let logger = Logger(label: "vhpc.run")
        let outputFiles = output == nil && error == nil ? nil : try TaskOutputFiles(
            output: output, error: error, jobID: options.jobID,
            layout: TaskLayout(tasks: options.taskCount, nodes: options.nodeCount), hosts: options.hosts)
        defer { outputFiles?.closeAll() }
        let printer = OutputPrinter(label: label, files: outputFiles)
        var metrics: JobMetrics?
        var endpoint: MetricsEndpoint?
        if let metricsListen {
            let (host, port) = try Self.listenAddress(metricsListen)
            do {
                endpoint = try await MetricsEndpoint.start(host: host, port: port)
            } catch {
                throw CLIErrors.fail("--metrics-listen \(metricsListen): cannot listen: \(error)")
            }
            CLIErrors.printError("vhpc: metrics at http://\(host):\(endpoint!.port)/metrics")
            metrics = JobMetrics(tasks: options.taskCount, vmsPerTask: vse != nil)
        }
        defer { endpoint?.stop() }
        let spawner = try await RunPlan.startStepEarly(launcherSpawner, options: &options)
        // A step started early that the job never configured (it failed before its agents were needed).
        let pendingStep = (spawner as? SlurmStepSpawner)?.pending
        let jobMetrics = metrics
        let progress = StageProgress()
        let jobID = options.jobID
        // What nodes of a local job leave on this machine if their agents are killed (a second signal) or
        // die: staged files, PMIx and Open MPI session files, VM records.
        let (staged, servesPMIx, nodeCount) = (!options.staging.isEmpty, mpi == .auto || mpi == .pmix, options.nodeCount)
        let runsVMs = vse != nil
        @Sendable func sweepLocalNodeFiles(pmix: Bool = true) {
            guard spawner.agentsRunHere else { return }
            if staged { StagePlan.sweep(jobID: jobID, nodes: nodeCount) }
            if servesPMIx, pmix { PMIxNodeDirectory.sweep(jobID: jobID) }
            if runsVMs { JobVMRegistry(state: StateDirectory.resolve(), jobID: jobID).removeAll() }
        }
        // This process hosts the nodes' agents: their PMIx server starts beside the controller's set-up.
        if options.prestartsPMIx, let here = spawner as? InProcessAgentSpawner { here.prestartNodeServers(jobID: options.jobID) }
        let runner = JobRunner(options: options, spawner: spawner, logger: logger)
        let record = JobRecordWriter(
            options: options, name: jobName ?? environment["VHPC_JOB_NAME"], image: image.map { ($0.manifest.id, $0.manifest.name) },
            environment: environment)
        let result: JobRunner.Result
        do {
            result = try await runner.run(
                events: { event in
                    jobMetrics?.handle(event)
                    switch event {
                    case .output(let task, let stream, let data):
                        printer.print(task: task, stream: stream, data: data)
                    case .failure(let notice):
                        printer.flush()
                        record.noteFailure(notice)
                        if !printer.isBroken { CLIErrors.printError("vhpc: \(notice)") }
                    case .taskEnded(let end):
                        record.noteTask(end)
                    case .taskFailed(let end):
                        if !printer.isBroken { CLIErrors.printError("vhpc: \(end)") }
                    case .notice(let text):
                        if !printer.isBroken { CLIErrors.printError("vhpc: \(text)") }
                    case .launchFailed(_, let message):
                        if !printer.isBroken { CLIErrors.printError("vhpc: \(message)") }
                    case .bootstrapped(let agents, let elapsed):
                        record.running(agents: agents)
                        logger.info("bootstrapped \(agents.count) agents in \(elapsed)")
                    case .joined(let agents):
                        record.noteAgents(agents)
                        logger.info("\(agents.count) agents joined the tree; launching while wiring completes")
                    case .ending(let reason, let exitCode):
                        logger.info("job ending: \(reason)")
                        record.ending(exitCode: exitCode)
                    case .stagingProgress, .staged:
                        progress.handle(event)
                    }
                },
                ready: { interrupter in
                    RunSignals.install({ signal in interrupter.interrupt(signal: signal) }, sweep: {
                        spawner.killAgentsNow(jobID: jobID)
                        sweepLocalNodeFiles()
                    })
                    printer.onBrokenPipe { interrupter.interrupt(signal: SIGPIPE) }
                },
                stdinReady: { sink in StdinForwarder.start(sink) })
        } catch {
            await pendingStep?.withdraw()
            (spawner as? InProcessAgentSpawner)?.finishNodeServers()  // a server started early, never joined
            record.finish(exitCode: 1)
            throw CLIErrors.fail("\(error)")
        }
        await pendingStep?.withdraw()
        printer.flush()
        sweepLocalNodeFiles(pmix: false)  // the spawner's sweep (at the end of the run) saw to PMIx's directories
        record.finish(exitCode: result.exitCode, agents: result.agents)
        if printer.isBroken { throw ExitCode(128 + SIGPIPE) }  // quietly, as a tool killed by SIGPIPE
        if result.exitCode != 0 { throw ExitCode(result.exitCode) }
    }
}

extension RunCommand {
    /// `[ADDR:]PORT` → (ADDR or 127.0.0.1, PORT).
    static func listenAddress(_ text: String) throws -> (String, Int) {
        let host = text.contains(":") ? String(text[..<text.lastIndex(of: ":")!]) : ""
        let portText = text.contains(":") ? String(text[text.index(after: text.lastIndex(of: ":")!)...]) : text
        guard let port = Int(portText), (0...65535).contains(port) else {
            throw CLIErrors.fail("--metrics-listen: '\(text)' is not [ADDR:]PORT (e.g. 9100 or 127.0.0.1:9100)")
        }
        return (host.isEmpty ? "127.0.0.1" : host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")), port)
    }
}

/// Defaults chosen from measurements (see `vhpc bench bootstrap`).
enum RunDefaults {
    /// The boot tree's fanout. Bootstrap time grows with the tree's height (one spawn and handshake per
    /// level), so a wider tree starts faster: on a modelled cluster (`vhpc bench bootstrap-model`, real state
    /// machines) fanout 4 wires 1,024 agents in about half the time of the paper's binary tree, with 10 ms
    /// local spawns (0.057 s against 0.108 s) and with ssh-like 150 ms spawns (0.90 s against 1.59 s); 8 gains
    /// little more (0.048 s, 0.79 s) for twice the work on each parent. On one host it makes no difference
    /// (the run is bound by CPU). Files and images are staged down the same tree, pipelined, where each node
    /// sends every chunk to each child: a node's link carries the file k times, so a pipelined k-ary tree
    /// moves data at 1/k of link bandwidth. A job that stages (`--stage`, `--vse`) therefore keeps fanout 2.
    static func fanout(staging: Bool) -> Int { staging ? 2 : 4 }

    /// Local jobs of 16 nodes or more pack agents into processes: every "node" is this machine, and a process
    /// per node only costs start-up time (`vhpc bench bootstrap --sizes 16 --sizes 32 --pack-from 16` against
    /// `--pack-from 64`: wired in 0.027 s and 0.030 s packed, 0.245 s and 0.474 s with a process per node).
    /// 256 per process rather than 64: processes beyond this machine's cores add trunks and handshakes but no
    /// parallelism (`vhpc bench bootstrap --sizes 256 --sizes 1024 --fanout 4 --agents-per-process 64|256`,
    /// WIRED: 256 nodes 0.120 -> 0.048 s, 1,024 nodes 0.52 -> 0.41 s). Smaller jobs keep a process per node, as on a cluster. Across hosts: always one per node.
    static let localAgentsPerProcess = 256

    static func agentsPerProcess(launcher: String, nodes: Int) -> Int {
        launcher == "local" && nodes >= 16 ? localAgentsPerProcess : 1
    }
}
