import Control
import Foundation
import HostProcess
import Launch
import TextReport
import VSE

/// `vhpc bench launch`: inside one Slurm allocation, side by side in one run, the wall time of
/// `vhpc run -n N -- true`, `srun -n N true` and MPICH's `mpiexec.hydra -bootstrap slurm -n N true`; medians
/// and failures; `others` (other vhpc executables, e.g. a previous build) get a column each, interleaved with
/// the rest. Outside an allocation the CLI allocates one (`salloc --exclusive`) and runs inside it.
///
/// The commands do not use the same nodes: `vhpc run -n N` and `srun -n N` run on every node of the allocation
/// (`-N` defaults to it), while hydra fills each node's slots (`SLURM_TASKS_PER_NODE`) in turn and starts its
/// proxies only on the nodes it needs (`srun -N 1 -n 1 … hydra_pmi_proxy` for N = 3 and 48 in a 3-node
/// allocation of 64 CPUs per node). So one more column, `vhpc -N as hydra`, runs `vhpc run -N K -n N` on the
/// K nodes hydra uses (``hydraNodes(tasks:slots:)``): the like-for-like comparison. `vhpc resident` runs the
/// same `vhpc run -n N` through the allocation's resident agents (`vhpc agents start`, under a state directory
/// of its own so the other columns start their own steps), the way PRRTE's `prun` runs on a started DVM.
public struct LaunchBenchmark: Sendable {
    public var allocation: SlurmAllocation
    public var sizes: [Int]
    public var runs: Int
    public var iface: String?
    public var timeout: Int
    public var others: [String]
    /// Pause after every run, so that what a command leaves working in the background (resident agents start
    /// their next spare) is done before the next command's clock starts, not charged to it.
    public var settle: Duration

    public init(allocation: SlurmAllocation, sizes: [Int], runs: Int, iface: String?, timeout: Int, others: [String] = [],
                settle: Duration = .milliseconds(200)) {
        self.allocation = allocation
        self.sizes = sizes
        self.runs = runs
        self.iface = iface
        self.timeout = timeout
        self.others = others
        self.settle = settle
    }

    public func run() async throws {
        guard let srun = ExecutableLookup.resolve("srun") else { throw BenchmarkError("srun not found in PATH") }
        let hydra = ExecutableLookup.resolve("mpiexec.hydra")
        let interface = iface ?? Self.interface(towards: SlurmNodeAddress.lookup(allocation.nodes[0]) ?? allocation.nodes[0])
        let vhpc = ExecutableLookup.currentExecutable()
        print("Slurm job \(allocation.jobID): \(allocation.nodes.count) nodes (\(allocation.nodeList)); \(runs) runs per cell, medians, "
            + "\(settle.milliseconds) ms between runs; hydra -iface \(interface ?? "(none)")")
        for (index, other) in others.enumerated() { print("vhpc\(index + 2): \(other)") }
        let vhpcs = [vhpc] + others
        let names = ["vhpc run"] + others.indices.map { "vhpc\($0 + 2) run" }
        let resident = Self.startResidentAgents(vhpc: vhpc, timeout: timeout)
        defer { resident.map { Self.stopResidentAgents(vhpc: vhpc, environment: $0) } }
        let slots = Self.slots(tasksPerNode: ProcessInfo.processInfo.environment["SLURM_TASKS_PER_NODE"] ?? "")
            ?? Array(repeating: 1, count: allocation.nodes.count)
        var rows = [["N"] + names + ["vhpc -N as hydra", "vhpc resident", "srun", "mpiexec.hydra",
                                     "FAILURES " + (names.map { $0.replacingOccurrences(of: " run", with: "") }
                                        + ["vhpc -N", "resident", "srun", "hydra"]).joined(separator: "/")]]
        for size in sizes {
            let hydraNodes = Self.hydraNodes(tasks: size, slots: slots)
            let commands: [[String]?] = vhpcs.map { [$0, "run", "--launcher", "slurm", "-n", "\(size)", "--", "true"] } + [
                [vhpc, "run", "--launcher", "slurm", "-N", "\(hydraNodes)", "-n", "\(size)", "--", "true"],
                resident.map { _ in [vhpc, "run", "--launcher", "slurm", "-n", "\(size)", "--", "true"] },
                [srun, "-n", "\(size)", "true"],
                hydra.map { [$0, "-bootstrap", "slurm"] + (interface.map { ["-iface", $0] } ?? []) + ["-n", "\(size)", "true"] },
            ]
            var times: [[Double]] = Array(repeating: [], count: commands.count)
            var failures = Array(repeating: 0, count: commands.count)
            for _ in 0..<runs {
                // Interleaved: each command sees the same machine load over the run.
                for (index, command) in commands.enumerated() {
                    guard let command else { continue }
                    let environment = index == vhpcs.count + 1 ? resident : nil
                    if let seconds = Self.time(command, environment: environment, timeout: timeout) {
                        times[index].append(seconds)
                    } else {
                        failures[index] += 1
                    }
                    try? await Task.sleep(for: settle)
                }
            }
            func median(_ values: [Double], _ index: Int) -> String {
                guard commands[index] != nil else { return "absent" }
                guard !values.isEmpty else { return "failed" }
                return String(format: "%.0f ms", values.sorted()[values.count / 2] * 1000)
            }
            var cells = commands.indices.map { median(times[$0], $0) }
            cells[vhpcs.count] += " (-N \(hydraNodes))"
            rows.append(["\(size)"] + cells + [failures.map(String.init).joined(separator: "/")])
        }
        print(TextTable.render(rows), terminator: "")
    }

    /// The nodes hydra's Slurm bootstrap starts proxies on for `tasks` ranks: it fills the nodes' `slots` in
    /// order, and with more ranks than slots it wraps around (then every node has some).
    public static func hydraNodes(tasks: Int, slots: [Int]) -> Int {
        var left = tasks
        for (index, count) in slots.enumerated() {
            left -= max(0, count)
            if left <= 0 { return index + 1 }
        }
        return slots.count
    }

    /// The slots per node `SLURM_TASKS_PER_NODE` gives (`64(x3)`, `2(x2),1`); nil when it is empty or malformed.
    public static func slots(tasksPerNode text: String) -> [Int]? {
        var slots: [Int] = []
        for item in text.split(separator: ",") {
            let parts = item.split(separator: "(")
            guard let count = Int(parts[0]) else { return nil }
            var repeats = 1
            if parts.count == 2 {
                guard parts[1].hasPrefix("x"), parts[1].hasSuffix(")"), let times = Int(parts[1].dropFirst().dropLast()) else { return nil }
                repeats = times
            } else if parts.count > 2 {
                return nil
            }
            slots += Array(repeating: count, count: repeats)
        }
        return slots.isEmpty ? nil : slots
    }

    /// `vhpc agents start` under a state directory of the benchmark's own; the environment that reaches them
    /// (nil, with the reason printed, when they did not start).
    static func startResidentAgents(vhpc: String, timeout: Int) -> [String: String]? {
        var environment = ProcessInfo.processInfo.environment
        let home = StateDirectory.resolve(environment: environment).root + "/bench-resident-\(getpid())"
        environment["VHPC_HOME"] = home
        let started = try? HostCommand(vhpc, ["agents", "start"], environment: environment, timeout: .seconds(max(timeout, 60))).runAllowingFailure()
        guard let started, started.status == 0 else {
            print("vhpc agents start failed: \(started?.stderrText ?? "cannot run \(vhpc)")")
            try? FileManager.default.removeItem(atPath: home)
            return nil
        }
        return environment
    }

    static func stopResidentAgents(vhpc: String, environment: [String: String]) {
        let stopped = try? HostCommand(vhpc, ["agents", "stop"], environment: environment, timeout: .seconds(60)).runAllowingFailure()
        if stopped?.status != 0 { print("vhpc agents stop failed: \(stopped?.stderrText ?? "")") }
        if let home = environment["VHPC_HOME"] { try? FileManager.default.removeItem(atPath: home) }
    }

    /// Wall time of one run in seconds; nil when it failed (non-zero exit, or killed after `timeout`).
    static func time(_ command: [String], environment: [String: String]? = nil, timeout: Int) -> Double? {
        let started = ContinuousClock.now
        guard let run = try? HostCommand(command[0], Array(command.dropFirst()), environment: environment,
                                         timeout: .seconds(timeout)).runAllowingFailure() else {
            return nil
        }
        let elapsed = ContinuousClock.now - started
        return run.status == 0 && !run.timedOut ? elapsed.seconds : nil
    }

    /// The interface on the route towards `host` (`ip route get`), for hydra's -iface.
    static func interface(towards host: String) -> String? {
        guard let address = SSHHostResolver.localAddress(towards: host) else { return nil }
        guard let text = try? HostCommand("/usr/sbin/ip", ["-o", "-4", "addr", "show"]).runAllowingFailure().stdoutText else { return nil }
        for line in text.split(separator: "\n") where line.contains(" inet \(address)/") {
            let words = line.split(separator: " ")
            if words.count > 1 { return String(words[1]) }
        }
        return nil
    }
}
