import Control
import Foundation
import HostProcess
import Launch
import Logging
import NIOConcurrencyHelpers
import NodeAgent
import TextReport

/// `vhpc bench bootstrap`: time until N agents are up and BMG-wired (local launcher), N real processes
/// running `true` through vhpc, and, when installed, Open MPI's `mpirun --oversubscribe -n N true` (as is and
/// with one fork thread: see `openMPIArguments`) and MPICH's
/// `mpiexec.hydra -n N true`.
public struct BootstrapBenchmark: Sendable {
    public var sizes: [Int]
    public var fanout: [Int]
    public var agentsPerProcess: Int
    public var packFrom: Int
    public var repetitions: Int
    public var mpirunTimeoutSeconds: Int
    public var wiredOnly: Bool

    public init(sizes: [Int], fanout: [Int], agentsPerProcess: Int, packFrom: Int, repetitions: Int, mpirunTimeoutSeconds: Int, wiredOnly: Bool) {
        self.sizes = sizes
        self.fanout = fanout
        self.agentsPerProcess = agentsPerProcess
        self.packFrom = packFrom
        self.repetitions = repetitions
        self.mpirunTimeoutSeconds = mpirunTimeoutSeconds
        self.wiredOnly = wiredOnly
    }

    var mpirunTimeout: Duration { .seconds(mpirunTimeoutSeconds) }

    public func run() async throws {
        ResourceLimits.raiseOpenFiles()
        signal(SIGPIPE, SIG_IGN)
        ProcessSpawner.becomeSubreaper()
        // Named explicitly: with both installed, `mpirun` is whichever alternative wins.
        let mpirun = ExecutableLookup.resolve("mpirun.openmpi")
        let hydra = ExecutableLookup.resolve("mpiexec.hydra")
        var rows = [["N", "FANOUT", "AGENTS/PROC", "WIRED (median)", "CORES BUSY", "vhpc run true", "Open MPI mpirun", "mpirun, 1 fork thread", "MPICH mpiexec"]]
        for size in sizes {
            for k in fanout {
                let perProcess = size >= packFrom ? agentsPerProcess : 1
                var wired: [Duration] = []
                var busy: [Double] = []
                var full: [Duration] = []
                for _ in 0..<self.repetitions {
                    if let run = try await Self.job(size: size, fanout: k, perProcess: perProcess, bootstrapOnly: true) {
                        wired.append(run.time)
                        busy.append(run.coresBusy)
                    }
                    if !wiredOnly, let run = try await Self.job(size: size, fanout: k, perProcess: perProcess, bootstrapOnly: false) {
                        full.append(run.time)
                    }
                }
                var openMPI = "-"
                var openMPIOneThread = "-"
                var mpich = "-"
                if k == fanout.first, !wiredOnly {
                    if let mpirun {
                        openMPI = await launcherColumn(mpirun, Self.openMPIArguments(size: size, forkThreads: nil))
                        openMPIOneThread = await launcherColumn(mpirun, Self.openMPIArguments(size: size, forkThreads: 1))
                    }
                    if let hydra { mpich = await launcherColumn(hydra, ["-n", "\(size)", "true"]) }
                }
                let cores = busy.isEmpty ? "-" : String(format: "%.2f", busy.sorted()[busy.count / 2])
                let runTrue = wiredOnly ? "-" : benchSeconds(Self.median(full), decimals: 3)
                rows.append(["\(size)", "\(k)", "\(perProcess)", benchSeconds(Self.median(wired), decimals: 3), cores,
                             runTrue, openMPI, openMPIOneThread, mpich])
                print(TextTable.render(rows.suffix(1)), terminator: "")
            }
        }
        print("")
        print(TextTable.render(rows), terminator: "")
        if mpirun == nil { print("Open MPI not installed (apt-get install -y openmpi-bin): its column is left empty") }
        if hydra == nil { print("MPICH not installed (apt-get install -y mpich): its column is left empty") }
        print("CORES BUSY: CPU time of the bootstrap-only job (front-end and every agent process) over its wall time;")
        print("this machine has \(ProcessInfo.processInfo.activeProcessorCount) cores, so a figure near that means the run was bound by CPU, not by latency.")
    }

    /// `mpirun --oversubscribe -n N true`, as is or with Open MPI 4.1's local launch kept on one thread. Above
    /// 32 local processes (`odls_base_cutoff`) it forks from up to 4 threads (`odls_base_max_threads`), and on
    /// Debian 12 that hangs most runs of 64 or more processes until killed (here 6 of 8 runs of `-n 64`; none
    /// with one thread, which completes every run but is slower: 0.31-0.39 s against 0.24 s at N = 64).
    static func openMPIArguments(size: Int, forkThreads: Int?) -> [String] {
        let threads = forkThreads.map { ["--mca", "odls_base_max_threads", "\($0)"] } ?? []
        return ["--oversubscribe"] + threads + ["-n", "\(size)", "true"]
    }

    /// Median time of `repetitions` runs of another launcher, with how many were still running after the
    /// timeout (hung, or slower than it) and were killed.
    func launcherColumn(_ path: String, _ arguments: [String]) async -> String {
        var times: [Duration] = []
        var hung = 0
        for _ in 0..<repetitions {
            switch await Self.launch(path, arguments, timeout: mpirunTimeout) {
            case .finished(let time): times.append(time)
            case .hung: hung += 1
            case .failed: break
            }
        }
        return benchSeconds(Self.median(times), decimals: 3) + (hung > 0 ? " (\(hung)/\(repetitions) > \(mpirunTimeoutSeconds) s)" : "")
    }

    /// One job's figure (time to wired, or the whole run), the average number of cores it kept busy, its CPU
    /// seconds (front-end and agent processes, from start to the last process reaped), and those of its agent
    /// processes (and their tasks) alone.
    struct JobRun {
        var time: Duration
        var coresBusy: Double
        var cpu: Double
        var agentProcessCPU: Double
        /// CPU seconds of the front-end and the agent processes from the job's start until it was wired (what
        /// the bootstrap cost; `cpu` adds the teardown after it), and of the agent processes alone.
        var cpuAtWired: Double
        var agentProcessCPUAtWired: Double
    }

    /// CPU seconds of this process and of every child it has reaped (agent processes reap their tasks).
    static func cpuSeconds() -> Double {
        cpuSeconds(RUSAGE_SELF.rawValue) + childCPUSeconds()
    }

    static func childCPUSeconds() -> Double { cpuSeconds(RUSAGE_CHILDREN.rawValue) }

    private static func cpuSeconds(_ who: Int32) -> Double {
        var usage = rusage()
        getrusage(who, &usage)
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    static func job(size: Int, fanout: Int, perProcess: Int, bootstrapOnly: Bool) async throws -> JobRun? {
        var options = JobOptions(
            jobID: "bench-\(getpid())-\(size)", nodeCount: size, taskCount: size, hosts: [], executable: "true",
            arguments: [], workingDirectory: "/")
        options.fanout = fanout
        options.agentsPerProcess = perProcess
        options.bootstrapOnly = bootstrapOnly
        options.heartbeat = .seconds(2)
        options.handshakeWindow = .seconds(30)
        let started = ContinuousClock.now
        let cpuBefore = cpuSeconds()
        let childCPUBefore = childCPUSeconds()
        let runner = JobRunner(options: options, spawner: LauncherAgentSpawner(launcher: LocalLauncher()), logger: Logger(label: "bench"))
        // Taken in the job's loop as it learns the job is wired.
        let atWired = NIOLockedValueBox<(all: Double, agents: Double)?>(nil)
        let result = try await runner.run(events: { event in
            guard case .bootstrapped = event else { return }
            let agents = childCPUSeconds() - childCPUBefore + JobProcessScan.descendants(of: getpid()).reduce(0) { $0 + processCPUSeconds($1) }
            let own = cpuSeconds(RUSAGE_SELF.rawValue) - (cpuBefore - childCPUBefore)
            atWired.withLockedValue { $0 = (own + agents, agents) }
        })
        let wall = ContinuousClock.now - started
        guard result.failures.isEmpty, let time = bootstrapOnly ? result.bootstrapTime : wall else { return nil }
        await waitUntilChildless()  // an agent process's CPU is counted once it has been reaped
        let cpu = cpuSeconds() - cpuBefore
        let busy = cpu / max(1e-9, Double(wall.milliseconds) / 1000)
        let wiredCPU = atWired.withLockedValue { $0 } ?? (all: cpu, agents: childCPUSeconds() - childCPUBefore)
        return JobRun(time: time, coresBusy: busy, cpu: cpu, agentProcessCPU: childCPUSeconds() - childCPUBefore,
                      cpuAtWired: wiredCPU.all, agentProcessCPUAtWired: wiredCPU.agents)
    }

    /// CPU seconds of a live process so far, every thread's (the scheduler's nanosecond count in
    /// /proc/PID/task/TID/schedstat; /proc/PID/stat counts in 10 ms ticks).
    static func processCPUSeconds(_ pid: pid_t) -> Double {
        guard let threads = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task") else { return 0 }
        var nanoseconds = 0.0
        for thread in threads {
            guard let line = try? String(contentsOfFile: "/proc/\(pid)/task/\(thread)/schedstat", encoding: .utf8),
                  let first = line.split(separator: " ").first, let value = Double(first) else { continue }
            nanoseconds += value
        }
        return nanoseconds / 1e9
    }

    /// Waits (at most 10 s) until this process has no children left, zombies included: a child's CPU is
    /// counted in RUSAGE_CHILDREN once it is reaped, and leftovers of one run (an mpirun killed as hung leaves
    /// orphans that are re-parented to us) must not be counted in the next one's CORES BUSY.
    static func waitUntilChildless() async {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline, JobProcessScan.hasChildren(getpid()) {
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    /// How one `mpirun` run ended.
    enum MPIRunOutcome { case finished(Duration), hung, failed }

    /// Another launcher's run (`mpirun --oversubscribe -n N true`, `mpiexec.hydra -n N true`), bounded:
    /// Debian's Open MPI 4.1 often never returns when it forks from several threads (see `openMPIArguments`),
    /// so a run still going after `timeout` is killed (its whole process group) and counted as hung, not timed.
    static func launch(_ path: String, _ arguments: [String], timeout: Duration) async -> MPIRunOutcome {
        let run = await BenchLaunch.run(path, arguments, timeout: timeout)
        if run.timedOut { return .hung }
        return run.status == 0 ? .finished(run.elapsed) : .failed
    }

    static func median(_ values: [Duration]) -> Duration? {
        values.isEmpty ? nil : values.sorted()[values.count / 2]
    }

}
