import ArgumentParser
import Control
import Foundation
import HostProcess
import Launch
import VSE

/// Validated `vhpc run` arguments: one clear error line for each kind of bad input.
struct RunPlan {
    var options: JobOptions
    /// The shortest `--heartbeat` period accepted.
    static let minimumHeartbeat = Duration.milliseconds(100)

    static func make(
        nodes: Int?, ntasks: Int?, ntasksPerNode: Int?, hostlist: String?, hostfile: String?, launcher: String, fanout: Int,
        onFailure: JobOptions.FailurePolicy, heartbeat: DurationArgument, heartbeatTimeout: Duration?, handshakeTimeout: Duration,
        agentsPerProcess: Int,
        command: [String], commandRunsInVMs: Bool = false, frontendAddress: String? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> RunPlan {
        guard let executable = command.first else { throw CLIErrors.fail("no command given (usage: vhpc run -N NODES -- CMD [ARGS…])") }
        var hosts: [String] = []
        var nodes = nodes
        var slotsPerHost = 1
        var slots: Int?  // PBS: the chosen hosts' slots, the default task count
        if hostlist != nil && hostfile != nil { throw CLIErrors.fail("give either -w or --hostfile, not both") }
        if launcher == "slurm" {
            // The allocation is the host list: -N and -w choose within it.
            if hostfile != nil { throw CLIErrors.fail("--hostfile does not apply to --launcher slurm (the allocation names the nodes; use -w)") }
            guard let allocation = try Self.slurmAllocation(environment) else {
                throw CLIErrors.fail("--launcher slurm: not inside a Slurm allocation (SLURM_JOB_ID is not set)")
            }
            var wanted: [String]?
            if let hostlist {
                do { wanted = try Hostlist.expand(hostlist) } catch { throw CLIErrors.fail("bad hostlist '\(hostlist)': \(error)") }
            }
            do { hosts = try allocation.select(nodes: nodes, hostlist: wanted) } catch { throw CLIErrors.fail("\(error)") }
            nodes = hosts.count
            guard ExecutableLookup.resolve("srun") != nil else {
                throw CLIErrors.fail("--launcher slurm: srun not found in PATH (is Slurm's client installed?)")
            }
        } else if launcher == "pbs" {
            // The nodefile is the host list (a host on k lines has k slots): -N and -w choose within it.
            if hostfile != nil { throw CLIErrors.fail("--hostfile does not apply to --launcher pbs (PBS_NODEFILE names the nodes; use -w)") }
            let allocation: PBSAllocation?
            do { allocation = try PBSAllocation.current(environment) } catch { throw CLIErrors.fail("\(error)") }
            guard let allocation else { throw CLIErrors.fail("--launcher pbs: not inside a PBS job (PBS_JOBID is not set)") }
            var wanted: [String]?
            if let hostlist {
                do { wanted = try Hostlist.expand(hostlist) } catch { throw CLIErrors.fail("bad hostlist '\(hostlist)': \(error)") }
            }
            do { hosts = try allocation.select(nodes: nodes, hostlist: wanted) } catch { throw CLIErrors.fail("\(error)") }
            nodes = hosts.count
            slots = hosts.reduce(0) { $0 + (allocation.slots[$1] ?? 1) }
        } else if let hostlist {
            do { hosts = try Hostlist.expand(hostlist) } catch { throw CLIErrors.fail("bad hostlist '\(hostlist)': \(error)") }
        } else if let hostfile {
            guard let text = try? String(contentsOfFile: hostfile, encoding: .utf8) else {
                throw CLIErrors.fail("cannot read hostfile \(hostfile)")
            }
            do { hosts = try Hostlist.parseHostfile(text, path: hostfile) } catch { throw CLIErrors.fail("\(error)") }
            (hosts, slotsPerHost) = try HostSlots.uniform(hosts, source: hostfile)
        }
        let nodeCount = nodes ?? (hosts.isEmpty ? 1 : hosts.count)
        guard nodeCount >= 1 else { throw CLIErrors.fail("-N must be at least 1 (got \(nodeCount))") }
        guard nodeCount <= Hostlist.maximumHosts else {
            throw CLIErrors.fail("-N \(nodeCount) is more than the \(Hostlist.maximumHosts) nodes a job may have")
        }
        if !hosts.isEmpty {
            guard hosts.count >= nodeCount else {
                throw CLIErrors.fail("-N \(nodeCount) needs \(nodeCount) hosts but the host list has \(hosts.count)")
            }
            hosts = Array(hosts.prefix(nodeCount))
        }
        let tasks: Int
        switch (ntasks, ntasksPerNode) {
        case (let n?, let perNode?):
            guard n == perNode * nodeCount else {
                throw CLIErrors.fail("-n \(n) is not --ntasks-per-node \(perNode) × -N \(nodeCount)")
            }
            tasks = n
        case (let n?, nil): tasks = n
        case (nil, let perNode?): tasks = perNode * nodeCount
        case (nil, nil): tasks = slots ?? nodeCount * slotsPerHost
        }
        guard tasks >= 1 else { throw CLIErrors.fail("the number of tasks must be at least 1 (got \(tasks))") }
        guard fanout >= 1 else { throw CLIErrors.fail("--fanout must be at least 1 (got \(fanout))") }
        guard LauncherFactory.names.contains(launcher) else {
            throw CLIErrors.fail("unknown launcher '\(launcher)' (known: \(LauncherFactory.names.joined(separator: ", ")))")
        }
        if launcher == "local", !hosts.isEmpty {
            for host in hosts where !LocalHosts.isLocal(host) {
                throw CLIErrors.fail("unknown host '\(host)': the local launcher only runs on this machine (use --launcher ssh)")
            }
        }
        let beat = heartbeat.duration
        // A period shorter than a scheduling hiccup declares live agents dead (1ms killed every job).
        guard beat == .zero || beat >= minimumHeartbeat else {
            throw CLIErrors.fail("--heartbeat \(heartbeat) is shorter than the minimum \(minimumHeartbeat.milliseconds)ms (0 turns heartbeats off)")
        }
        let jobID = "job-\(getpid())-\(UInt32.random(in: 0..<UInt32.max) % 100_000)"
        var options = JobOptions(
            jobID: jobID, nodeCount: nodeCount, taskCount: tasks, hosts: launcher == "local" ? [] : hosts,
            executable: executable, arguments: Array(command.dropFirst()),
            workingDirectory: FileManager.default.currentDirectoryPath)
        options.fanout = fanout
        options.agentsPerProcess = max(1, agentsPerProcess)
        options.heartbeat = beat == .zero ? nil : beat
        options.heartbeatTimeout = heartbeatTimeout
        options.handshakeWindow = handshakeTimeout
        options.onFailure = onFailure
        // PBS hosts are reached over ssh (or locally, keeping the ssh lifetime contract): agents behave as ssh
        // agents and start their children over ssh.
        options.launcher = launcher == "pbs" ? "ssh" : launcher
        options.bindHost = launcher == "local" ? "127.0.0.1" : "0.0.0.0"
        if let frontendAddress {
            guard launcher != "local" else { throw CLIErrors.fail("--frontend-address applies to the ssh and slurm launchers") }
            options.advertisedHost = frontendAddress
        } else if launcher == "ssh", let first = hosts.first {
            let target = SSHHostResolver.hostname(of: first) ?? first
            options.advertisedHost = SSHHostResolver.localAddress(towards: target)
        } else if launcher == "pbs" {
            let remote = hosts.first { !LocalHosts.isLocal($0) }
            options.advertisedHost = remote.flatMap { SSHHostResolver.localAddress(towards: SSHHostResolver.hostname(of: $0) ?? $0) } ?? "127.0.0.1"
        }
        if launcher == "pbs", let address = options.advertisedHost {
            // The nodefile's name for this machine may resolve to loopback elsewhere: other agents reach the
            // agent started here at the front-end's address.
            options.hosts = options.hosts.map { LocalHosts.isLocal($0) ? address : $0 }
        }
        // Under Slurm the address is found while the agents' step starts (``startStepEarly``).
        // With --vse the command lives in the image, not on this machine.
        // The same exit codes as a task that cannot start (127 not found, 126 not executable).
        if launcher == "local", !commandRunsInVMs, ExecutableLookup.resolve(executable) == nil {
            let failure = TaskStartFailure.lookup(executable, path: ProcessInfo.processInfo.environment["PATH"])
            throw CLIErrors.fail("\(failure)", code: failure.status)
        }
        return RunPlan(options: options)
    }
}

extension RunPlan {
    /// Under Slurm: starts the agents' job step now (they wait on stdin for their configuration) and, while
    /// srun creates it and the nodes start their agents, finds the address the nodes reach this machine at
    /// unless `--frontend-address` gave one. With resident agents there is no step to start: only the address
    /// is found. Other launchers' spawners come back as they are.
    static func startStepEarly(_ spawner: any AgentSpawner, options: inout JobOptions) async throws -> any AgentSpawner {
        if spawner is ResidentStepSpawner, options.advertisedHost == nil {
            options.advertisedHost = try slurmFrontendAddress(hosts: options.hosts)
        }
        guard let slurm = spawner as? SlurmStepSpawner else { return spawner }
        let started: SlurmStepSpawner
        do { started = try await slurm.prestart(hosts: options.hosts, jobID: options.jobID) } catch { throw CLIErrors.fail("\(error)") }
        if options.advertisedHost == nil {
            do {
                options.advertisedHost = try slurmFrontendAddress(hosts: options.hosts)
            } catch {
                await started.pending?.withdraw()
                throw error
            }
        }
        return started
    }

    /// This machine's own name may resolve to loopback: advertise the address on the route to the first node
    /// (its `NodeAddr`, remembered for the allocation, else its name).
    static func slurmFrontendAddress(hosts: [String], environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String {
        guard let first = hosts.first else { throw CLIErrors.fail("the Slurm allocation has no nodes") }
        let cache = StateDirectory.resolve(environment: environment).root + "/cache"
        let found = environment["SLURM_JOB_ID"].map { SlurmNodeAddress.lookup(first, jobID: $0, cacheDirectory: cache) }
            ?? SlurmNodeAddress.lookup(first)
        let target = found ?? first
        guard let address = SSHHostResolver.localAddress(towards: target) else {
            throw CLIErrors.fail("cannot find an address of this machine that reaches node \(first) (\(target)); give one with --frontend-address")
        }
        return address
    }

    static func slurmAllocation(_ environment: [String: String]) throws -> SlurmAllocation? {
        do { return try SlurmAllocation.current(environment) } catch { throw CLIErrors.fail("\(error)") }
    }
}

/// Names that mean this machine.
enum LocalHosts {
    static func isLocal(_ host: String) -> Bool {
        if ["localhost", "127.0.0.1", "::1", ProcessInfo.processInfo.hostName].contains(host) { return true }
        return host.hasPrefix("127.")
    }
}
