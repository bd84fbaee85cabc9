import Control
import Foundation
import HostProcess
import Launch
import NodeAgent
import TextReport
import Topology

/// `vhpc bench bootstrap-validate`: the scale model checked against real runs on this host. The model is
/// given this host's own costs, measured in the same run — its cores shared by every agent, agents packed into
/// processes as `vhpc run` packs them, an agent process's start (its latency, and its CPU on a core), loopback
/// latency — and the real state machines. What a message costs outside them (the shell's event loop and task
/// scheduling, system calls, MACs) is calibrated at the first size only, from the CPU of two real jobs:
/// packed as `vhpc run` packs it (every link in one process) and at `--calibration-packing` agents per process
/// (most links on trunks between two processes), two jobs for the two unknowns. Every size is then predicted, wired time and CPU,
/// beside `vhpc bench bootstrap`'s real runs. CPU is the figure other load on the host barely changes; wired
/// time is compared as measured (an idle host is the model's).
public struct BootstrapValidateBenchmark: Sendable {
    public var sizes: [Int]
    public var fanout: Int
    public var runs: Int
    public var calibrationPacking: Int
    /// Agents per process for a local job of N nodes, as `vhpc run` packs them.
    public var packing: @Sendable (Int) -> Int

    public init(sizes: [Int], fanout: Int, runs: Int, calibrationPacking: Int, packing: @escaping @Sendable (Int) -> Int) {
        self.sizes = sizes
        self.fanout = fanout
        self.runs = runs
        self.calibrationPacking = calibrationPacking
        self.packing = packing
    }

    /// Medians of `count` (default `runs`) real bootstrap-only jobs: wired time and CPU (front-end and agent
    /// processes), and the share of a core a busy loop in a session of its own got just before each
    /// (``HostCosts/sessionCoreShare(cores:)``).
    func measure(_ size: Int, perProcess: Int, count: Int? = nil) async throws -> Real {
        var runs: [BootstrapBenchmark.JobRun] = []
        var shares: [Double] = []
        for _ in 0..<(count ?? self.runs) {
            let share = await HostCosts.sessionCoreShare(cores: ProcessInfo.processInfo.activeProcessorCount)
            shares.append(share.isFinite ? max(0.01, share) : 1)
            if let run = try await BootstrapBenchmark.job(size: size, fanout: fanout, perProcess: perProcess, bootstrapOnly: true) { runs.append(run) }
        }
        guard !runs.isEmpty else { throw BenchmarkError("N=\(size), \(perProcess) per process: no real run bootstrapped") }
        return Real(wired: runs.map(\.time).sorted()[runs.count / 2], cpu: runs.map(\.cpuAtWired).sorted()[runs.count / 2],
                    wholeJobCPU: runs.map(\.cpu).sorted()[runs.count / 2], share: shares.sorted()[shares.count / 2])
    }

    /// What the real runs of one size measured (medians).
    struct Real {
        var wired: Duration
        /// CPU from the job's start until it was wired (what the model simulates), and of the whole job (its
        /// teardown too).
        var cpu: Double
        var wholeJobCPU: Double
        var share: Double
    }

    public func run() async throws {
        #if DEBUG
        print("warning: debug build; the measured CPU is only meaningful with `swift build -c release`\n")
        #endif
        ResourceLimits.raiseOpenFiles()
        signal(SIGPIPE, SIG_IGN)
        ProcessSpawner.becomeSubreaper()
        let loadBefore = Self.loadAverage()
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let link = try HostCosts.loopbackOneWay()
        // An agent process's start as a job sees it: a one-node job's time to wired (spawn, start-up, handshake),
        // and the CPU that process took (most of it its start: loading, the runtime's set-up).
        var single: [BootstrapBenchmark.JobRun] = []
        for _ in 0..<max(3, runs) {
            if let run = try await BootstrapBenchmark.job(size: 1, fanout: fanout, perProcess: 1, bootstrapOnly: true) { single.append(run) }
        }
        guard !single.isEmpty else { throw BenchmarkError("N=1: no real run bootstrapped") }
        let spawn = single.map(\.time).sorted()[single.count / 2]
        let startCPU = Duration.seconds(single.map(\.agentProcessCPUAtWired).sorted()[single.count / 2])
        print(String(format: "This host: %d cores; agent process start %.1f ms (a 1-node job's time to wired, median), %.1f ms of CPU until then; loopback TCP one-way %.1f us",
                     cores, spawn.seconds * 1e3, startCPU.seconds * 1e3, link.seconds * 1e6))
        // The calibration jobs are small (0.05-0.2 s of CPU), and under other load their CPU varies by a third
        // from run to run: they take the median of more runs (at least 15).
        let calibration = sizes[0]
        let calibrationRuns = max(runs, 15)
        var real: [Int: Real] = [:]
        for size in sizes { real[size] = try await measure(size, perProcess: packing(size), count: size == calibration ? calibrationRuns : nil) }
        let spread = try await measure(calibration, perProcess: calibrationPacking, count: calibrationRuns)

        var model = BootstrapModel(linkLatency: link, bandwidth: .infinity, spawnLatency: spawn, spawnCPU: .microseconds(200), frameCPU: .zero)
        model.processStartCPU = startCPU
        model.hostCores = cores
        func simulate(_ size: Int, perProcess: Int, share: Double = 1) throws -> (outcome: BootstrapSimulation.Outcome, cpu: Double) {
            var sized = model
            sized.agentsPerProcess = perProcess
            // Each process (its own session, see sessionCoreShare) runs up to `cores` threads at `share` of a
            // core each, and all of them together no more than the host's cores: on an idle host 2 cores at
            // full speed, on a busy one more, slower, slots.
            let tree = try BootTree(kind: .tree(arity: fanout), nodeCount: size + 1)
            let processes = ChunkPlan.processes(tree: tree, agentsPerProcess: perProcess).count
            sized.cpuShare = share
            sized.hostCores = min(cores * processes, max(cores, Int(Double(cores) / share)))
            sized.threadsPerProcess = cores  // NIO's event loops (one per core): a process never runs on more
            let outcome = try BootstrapSimulation.run(nodes: size, fanout: fanout, model: sized, cpu: .measured)
            guard outcome.wired != nil else { throw BenchmarkError("N=\(size): the model did not bootstrap") }
            return (outcome, (outcome.totalCPU + startCPU * outcome.processesStarted).seconds)
        }
        // Real CPU = the model's (state machines, codec, spawns, process starts) + local × in-process message
        // ends + frame × trunk frame ends, for both calibration jobs: solved for local and frame.
        let packed = try simulate(calibration, perProcess: packing(calibration))
        let spreadModel = try simulate(calibration, perProcess: calibrationPacking)
        let (l1, t1, r1) = (Double(packed.outcome.localMessageEnds), Double(packed.outcome.trunkFrameEnds), real[calibration]!.cpu - packed.cpu)
        let (l2, t2, r2) = (Double(spreadModel.outcome.localMessageEnds), Double(spreadModel.outcome.trunkFrameEnds), spread.cpu - spreadModel.cpu)
        let determinant = l1 * t2 - t1 * l2
        guard determinant != 0 else { throw BenchmarkError("N=\(calibration): the calibration jobs do not tell in-process and trunk costs apart") }
        model.localMessageCPU = .seconds(max(0, (r1 * t2 - t1 * r2) / determinant))
        model.frameCPU = .seconds(max(0, (l1 * r2 - r1 * l2) / determinant))
        print(String(format: "Calibrated at N = %d (CPU of the real jobs, %d and %d agents per process: %.3f s and %.3f s): %.1f us per in-process message end, %.1f us per trunk frame end",
                     calibration, packing(calibration), calibrationPacking, real[calibration]!.cpu, spread.cpu,
                     model.localMessageCPU.seconds * 1e6, model.frameCPU.seconds * 1e6))

        var rows = [["N", "AGENTS/PROC", "CORE SHARE", "REAL WIRED (median of \(runs); \(calibrationRuns) at N = \(calibration))", "MODEL WIRED", "MODEL / REAL", "REAL CPU TO WIRED (whole job)", "MODEL CPU", "MODEL / REAL",
                     "WITHIN 20 % (wired, CPU)"]]
        func row(_ size: Int, perProcess: Int, real: Real) throws {
            let (outcome, cpu) = try simulate(size, perProcess: perProcess, share: real.share)
            let wiredRatio = outcome.wired! / real.wired
            let cpuRatio = cpu / real.cpu
            let within = { (ratio: Double) in abs(ratio - 1) <= 0.2 ? "yes" : "no" }
            rows.append(["\(size)", "\(perProcess)", String(format: "%.2f", real.share), benchSeconds(real.wired, decimals: 4), benchSeconds(outcome.wired, decimals: 4),
                         String(format: "%.2f", wiredRatio), String(format: "%.3f s (%.3f s)", real.cpu, real.wholeJobCPU), String(format: "%.3f s", cpu),
                         String(format: "%.2f", cpuRatio), "\(within(wiredRatio)), \(within(cpuRatio))\(size == calibration ? " (calibration)" : "")"])
        }
        for size in sizes { try row(size, perProcess: packing(size), real: real[size]!) }
        try row(calibration, perProcess: calibrationPacking, real: spread)
        print(TextTable.render(rows), terminator: "")
        print(String(format: "Load average (1 min) %.1f before, %.1f after. CORE SHARE: the share of a core each of %d busy loops in a session of their own got just before each real run (median; 1: an idle host); the model runs each process's work at that speed, on as many slots as the cores allow.",
                     loadBefore, Self.loadAverage(), cores))
    }

    static func loadAverage() -> Double {
        var load = [0.0, 0.0, 0.0]
        return getloadavg(&load, 3) > 0 ? load[0] : .nan
    }
}

/// This host's loopback latency and how much of its cores other load leaves, for the model.
enum HostCosts {
    /// The share of a core each of `cores` busy loops gets in a session of its own, as an agent process's
    /// threads do (the local launcher starts each agent process in a new session): about 1 on an idle host.
    /// With the kernel's autogroup scheduling (on by default) each session is one group for CPU fairness,
    /// so a busy host gives every session about the same share, whatever runs in the others: a job of P
    /// agent processes gets P such shares, not one (a probe thread in the front-end's own session measures
    /// nothing of the kind).
    static func sessionCoreShare(cores: Int) async -> Double {
        let loops = Array(repeating: "(while :; do :; done) &", count: max(1, cores)).joined(separator: " ") + " wait"
        let before = BootstrapBenchmark.childCPUSeconds()
        let started = ContinuousClock.now
        guard let pid = try? ProcessSpawner.spawnNow(
            executable: "/bin/sh", arguments: ["-c", loops], environment: [:], newProcessGroup: true, newSession: true) else { return .nan }
        try? await Task.sleep(for: .milliseconds(300))
        kill(-pid, SIGKILL)
        let wall = ContinuousClock.now - started
        _ = await ChildReaper.shared.waitForExit(pid)
        await BootstrapBenchmark.waitUntilChildless()  // the loops, re-parented to this subreaper, are counted once reaped
        return min(1, (BootstrapBenchmark.childCPUSeconds() - before) / (wall.seconds * Double(max(1, cores))))
    }

    /// Half the median round trip of one byte over a loopback TCP connection (1,000 trips).
    static func loopbackOneWay() throws -> Duration {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) == 0 && listen(listener, 1) == 0 && getsockname(listener, $0, &length) == 0 }
        }
        guard bound else { throw BenchmarkError("loopback: cannot listen: \(String(cString: strerror(errno)))") }
        let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(client) }
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(client, $0, length) == 0 }
        }
        let server = accept(listener, nil, nil)
        guard connected, server >= 0 else { throw BenchmarkError("loopback: cannot connect: \(String(cString: strerror(errno)))") }
        defer { close(server) }
        var one: Int32 = 1
        for fd in [client, server] { setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size)) }
        let echo = Thread {
            var byte: UInt8 = 0
            while read(server, &byte, 1) == 1 { _ = write(server, &byte, 1) }
        }
        echo.start()
        var trips: [Duration] = []
        var byte: UInt8 = 1
        for _ in 0..<1000 {
            let started = ContinuousClock.now
            guard write(client, &byte, 1) == 1, read(client, &byte, 1) == 1 else { throw BenchmarkError("loopback: round trip failed") }
            trips.append(ContinuousClock.now - started)
        }
        shutdown(client, Int32(SHUT_RDWR))
        return trips.sorted()[trips.count / 2] / 2
    }
}
