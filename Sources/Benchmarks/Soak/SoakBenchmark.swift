import Control
import Foundation
import HostProcess
import TextReport
import Topology

/// `vhpc bench soak`: many jobs back to back — `vhpc run -N 16 -- true`, and `--vse` jobs of one node with two
/// VMs — a share of the local ones with a random agent process killed (SIGKILL) or stopped (SIGSTOP) while
/// they run. Counts failures, hangs and false failure reports of clean jobs, faults that went unreported, and
/// processes or files any job left behind. Target: 0 of each.
public struct SoakBenchmark: Sendable {
    public var runs: Int
    public var vmRuns: Int
    public var nodes: Int
    public var vse: String
    public var faults: Double
    public var timeout: Int
    public var seed: UInt64?

    public init(runs: Int, vmRuns: Int, nodes: Int, vse: String, faults: Double, timeout: Int, seed: UInt64?) {
        self.runs = runs
        self.vmRuns = vmRuns
        self.nodes = nodes
        self.vse = vse
        self.faults = faults
        self.timeout = timeout
        self.seed = seed
    }

    /// What one job did.
    struct Outcome {
        var status: Int32
        var stderr: String
        var hung: Bool
        var leftovers: [String]
        /// The agent process the fault was sent to (nil: none was found while the job ran).
        var injected: String? = nil
    }

    public func run() async throws {
        guard runs >= 0, vmRuns >= 0, nodes >= 1, (0...1).contains(faults), timeout > 0 else {
            throw BenchmarkError("--runs and --vm-runs must be >= 0, --nodes >= 1, --faults within 0...1, --timeout > 0")
        }
        let vhpc = ExecutableLookup.currentExecutable()
        let seed = self.seed ?? UInt64.random(in: 0...UInt64.max)
        var random = SplitMix64(seed: seed)
        let started = ContinuousClock.now
        if vmRuns > 0 {
            let build = Self.execute([vhpc, "vse", "build", "-q", vse], marker: "soak-\(getpid())-build", timeout: 600, inject: nil)
            guard build.status == 0 else { throw BenchmarkError("vse build \(vse) failed: \(build.stderr.split(separator: "\n").last ?? "")") }
        }
        // The jobs' own temporary directory: the PMIx node directories they leave are counted too.
        let tmpdir = NSTemporaryDirectory() + "vhpc-soak-\(getpid())"
        try FileManager.default.createDirectory(atPath: tmpdir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: tmpdir) }
        let filesBefore = Self.stateFiles(tmpdir: tmpdir)
        print("soak: \(runs) local jobs (-N \(nodes), \(Int(faults * 100)) % with a fault), \(vmRuns) VM jobs (1 node x 2 VMs, \(vse)); seed \(seed)")
        var clean = (jobs: 0, failures: 0, hangs: 0, falseReports: 0)
        var vm = (jobs: 0, failures: 0, hangs: 0, falseReports: 0)
        var injected = (jobs: 0, killed: 0, stopped: 0, reported: 0, hangs: 0, missed: 0, notSent: 0)
        var leftoverProcesses = 0
        var problems: [String] = []
        func note(_ text: String) { if problems.count < 20 { problems.append(text) } }
        let total = runs + vmRuns
        for index in 0..<total {
            let isVM = index >= runs
            let marker = "soak-\(getpid())-\(index)"
            var fault: Int32?
            var command = [vhpc, "run", "-N", "\(nodes)", "--", "true"]
            if isVM {
                command = [vhpc, "run", "--vse", vse, "-N", "1", "--vms-per-node", "2", "--", "true"]
            } else if Double(random.next() % 10_000) / 10_000 < faults {
                fault = random.next() % 2 == 0 ? SIGKILL : SIGSTOP
                // Tasks that run long enough for the fault to land while they do.
                command = [vhpc, "run", "-N", "\(nodes)", "--", "sleep", "3"]
            }
            let delay = Duration.milliseconds(Int(200 + random.next() % 1300))
            let outcome = Self.execute(command, marker: marker, tmpdir: tmpdir, timeout: timeout, inject: fault.map { ($0, delay, random.next()) })
            leftoverProcesses += outcome.leftovers.count
            if !outcome.leftovers.isEmpty { note("job \(index): left running: \(outcome.leftovers.joined(separator: ", "))") }
            let reportsFailure = outcome.stderr.contains("failed") || outcome.stderr.contains("unreachable")
            if let fault, outcome.injected == nil {
                injected.notSent += 1
                note("job \(index) (signal \(fault) after \(delay)): no agent process to signal while it ran (exit \(outcome.status))")
            } else if let fault {
                injected.jobs += 1
                if fault == SIGKILL { injected.killed += 1 } else { injected.stopped += 1 }
                if outcome.hung {
                    injected.hangs += 1
                    note("job \(index) (signal \(fault) after \(delay)): hung")
                } else if outcome.status != 0 {
                    injected.reported += 1
                } else {
                    // The tasks sleep 3 s and the fault comes within 1.5 s: a job that still succeeds missed it.
                    injected.missed += 1
                    note("job \(index) (signal \(fault) to \(outcome.injected ?? "") after \(delay)): exit 0, the fault went unreported")
                }
            } else {
                var counts = isVM ? vm : clean
                counts.jobs += 1
                if outcome.hung {
                    counts.hangs += 1
                    note("job \(index)\(isVM ? " (VM)" : ""): hung")
                } else if outcome.status != 0 {
                    counts.failures += 1
                    note("job \(index)\(isVM ? " (VM)" : ""): exit \(outcome.status): \(outcome.stderr.split(separator: "\n").prefix(3).joined(separator: " | "))")
                } else if reportsFailure {
                    counts.falseReports += 1
                    note("job \(index)\(isVM ? " (VM)" : ""): exit 0 but: \(outcome.stderr.split(separator: "\n").prefix(3).joined(separator: " | "))")
                }
                if isVM { vm = counts } else { clean = counts }
            }
            if (index + 1) % 100 == 0 || index + 1 == total {
                // So far, so that a soak stopped early still tells what it saw.
                print("  \(index + 1)/\(total) jobs, \(benchSeconds(ContinuousClock.now - started, decimals: 0)): failures \(clean.failures + vm.failures), "
                      + "hangs \(clean.hangs + vm.hangs + injected.hangs), false failure reports \(clean.falseReports + vm.falseReports), "
                      + "faults \(injected.jobs) (\(injected.reported) ended non-zero, \(injected.missed) unreported), leftover processes \(leftoverProcesses)")
            }
        }
        let leftFiles = Self.stateFiles(tmpdir: tmpdir).subtracting(filesBefore).sorted()
        for file in leftFiles.prefix(5) { note("left behind: \(file)") }
        print("soak: \(total) jobs in \(benchSeconds(ContinuousClock.now - started, decimals: 0))")
        print(TextTable.render([
            ["JOBS", "COUNT", "FAILURES", "HANGS", "FALSE FAILURE REPORTS"],
            ["local -N \(nodes) -- true", "\(clean.jobs)", "\(clean.failures)", "\(clean.hangs)", "\(clean.falseReports)"],
            ["--vse 1x2 -- true", "\(vm.jobs)", "\(vm.failures)", "\(vm.hangs)", "\(vm.falseReports)"],
        ]), terminator: "")
        print(TextTable.render([
            ["FAULTS", "COUNT", "SIGKILL", "SIGSTOP", "ENDED NON-ZERO", "UNREPORTED (exit 0)", "HANGS"],
            ["local -N \(nodes) -- sleep 3", "\(injected.jobs)", "\(injected.killed)", "\(injected.stopped)", "\(injected.reported)",
             "\(injected.missed)", "\(injected.hangs)"],
        ]), terminator: "")
        if injected.notSent > 0 { print("faults not sent (the job ended before an agent process could be found): \(injected.notSent)") }
        print("leftover processes: \(leftoverProcesses); leftover files: \(leftFiles.count)")
        for problem in problems { print("  \(problem)") }
    }

    /// Runs one job with `marker` in its environment (every process it starts inherits it), killing it after
    /// `timeout` seconds; `inject` sends a signal to one of its agent processes (picked by the third value)
    /// after the delay. Then lists the processes carrying the marker still alive, and kills them.
    static func execute(_ command: [String], marker: String, tmpdir: String? = nil, timeout: Int, inject: (Int32, Duration, UInt64)?) -> Outcome {
        var environment = ProcessInfo.processInfo.environment
        environment[markerVariable] = marker
        if let tmpdir { environment["TMPDIR"] = tmpdir }
        guard let process = try? HostCommand(command[0], Array(command.dropFirst()), environment: environment).start() else {
            return Outcome(status: -1, stderr: "cannot start \(command[0])", hung: false, leftovers: [])
        }
        var injected: String?
        if let (signal, delay, pick) = inject {
            Thread.sleep(forTimeInterval: delay.seconds)
            // On a loaded machine the agents may not be up yet: wait for one (bounded).
            let patience = ContinuousClock.now + .seconds(5)
            var agents: [pid_t] = []
            while process.isRunning, agents.isEmpty, ContinuousClock.now < patience {
                agents = marked(marker).filter { commandLine($0).contains(" agent ") }
                if agents.isEmpty { Thread.sleep(forTimeInterval: 0.02) }
            }
            if !agents.isEmpty {
                let victim = agents[Int(pick % UInt64(agents.count))]
                if kill(victim, signal) == 0 { injected = "\(victim) \(commandLine(victim).suffix(40))" }
            }
        }
        let deadline = ContinuousClock.now + .seconds(timeout)
        while process.isRunning, ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.01) }
        let hung = process.isRunning
        if hung { process.signal(SIGKILL) }
        let finished = process.wait()
        // A job's end waits for its processes; give ones killed by its sweep a moment to be reaped.
        var left = marked(marker)
        let grace = ContinuousClock.now + .seconds(2)
        while !left.isEmpty, ContinuousClock.now < grace {
            Thread.sleep(forTimeInterval: 0.05)
            left = marked(marker)
        }
        let names = left.map { "\($0) \(commandLine($0).prefix(60))" }
        for pid in left { kill(pid, SIGKILL) }
        return Outcome(status: hung ? -1 : finished.status, stderr: finished.stderrText, hung: hung, leftovers: names, injected: injected)
    }

    static let markerVariable = "VHPC_SOAK_MARK"

    /// `/proc/PID/cmdline` with its NULs as spaces.
    static func commandLine(_ pid: pid_t) -> String {
        let bytes = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline").map { [UInt8]($0) } ?? []
        return String(decoding: bytes.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
    }

    /// Live (not zombie) processes whose environment holds `marker`.
    static func marked(_ marker: String) -> [pid_t] {
        let needle = Array("\(markerVariable)=\(marker)\0".utf8)
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { pid_t($0) }.filter { pid in
            guard pid != getpid(), JobProcessScan.isAlive(pid),
                  let environ = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { return false }
            return [UInt8](environ).firstRange(of: needle) != nil
        }
    }

    /// Files of the state directory that jobs must not leave: job stage directories, partial files, VM
    /// records and runtime files, builds in progress (images, kernels, snapshots and the history are caches);
    /// and whatever is in the jobs' temporary directory `tmpdir` (PMIx node directories).
    static func stateFiles(tmpdir: String) -> Set<String> {
        let home = ProcessInfo.processInfo.environment["VHPC_HOME"] ?? (getuid() == 0 ? "/var/lib/vhpc" : NSHomeDirectory() + "/.local/share/vhpc")
        var found: Set<String> = []
        let manager = FileManager.default
        for top in ["vms", "tmp"] {
            for entry in (try? manager.contentsOfDirectory(atPath: home + "/" + top)) ?? [] { found.insert(top + "/" + entry) }
        }
        for entry in (try? manager.contentsOfDirectory(atPath: tmpdir)) ?? [] { found.insert(tmpdir + "/" + entry) }
        for node in (try? manager.contentsOfDirectory(atPath: home + "/nodes")) ?? [] {
            for entry in (try? manager.contentsOfDirectory(atPath: home + "/nodes/\(node)/staged")) ?? [] {
                found.insert("nodes/\(node)/staged/\(entry)")
            }
            let all = manager.enumerator(atPath: home + "/nodes/\(node)")?.allObjects as? [String] ?? []
            for path in all where path.contains(".partial-") { found.insert("nodes/\(node)/\(path)") }
        }
        return found
    }
}
