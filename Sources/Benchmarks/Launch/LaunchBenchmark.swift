import Control
import Foundation
import HostProcess
import Launch
import TextReport

/// `vhpc bench launch`: inside one Slurm allocation, side by side in one run, the wall time of
/// `vhpc run -n N -- true`, `srun -n N true` and MPICH's `mpiexec.hydra -bootstrap slurm -n N true`; medians
/// and failures. Outside an allocation the CLI allocates one (`salloc --exclusive`) and runs inside it.
public struct LaunchBenchmark: Sendable {
    public var allocation: SlurmAllocation
    public var sizes: [Int]
    public var runs: Int
    public var iface: String?
    public var timeout: Int

    public init(allocation: SlurmAllocation, sizes: [Int], runs: Int, iface: String?, timeout: Int) {
        self.allocation = allocation
        self.sizes = sizes
        self.runs = runs
        self.iface = iface
        self.timeout = timeout
    }

    public func run() async throws {
        guard let srun = ExecutableLookup.resolve("srun") else { throw BenchmarkError("srun not found in PATH") }
        let hydra = ExecutableLookup.resolve("mpiexec.hydra")
        let interface = iface ?? Self.interface(towards: SlurmNodeAddress.lookup(allocation.nodes[0]) ?? allocation.nodes[0])
        let vhpc = ExecutableLookup.currentExecutable()
        print("Slurm job \(allocation.jobID): \(allocation.nodes.count) nodes (\(allocation.nodeList)); \(runs) runs per cell, medians; hydra -iface \(interface ?? "(none)")")
        var rows = [["N", "vhpc run", "srun", "mpiexec.hydra", "FAILURES vhpc/srun/hydra"]]
        for size in sizes {
            let commands: [[String]?] = [
                [vhpc, "run", "--launcher", "slurm", "-n", "\(size)", "--", "true"],
                [srun, "-n", "\(size)", "true"],
                hydra.map { [$0, "-bootstrap", "slurm"] + (interface.map { ["-iface", $0] } ?? []) + ["-n", "\(size)", "true"] },
            ]
            var times: [[Double]] = [[], [], []]
            var failures = [0, 0, 0]
            for _ in 0..<runs {
                // Interleaved: each command sees the same machine load over the run.
                for (index, command) in commands.enumerated() {
                    guard let command else { continue }
                    if let seconds = Self.time(command, timeout: timeout) { times[index].append(seconds) } else { failures[index] += 1 }
                }
            }
            func median(_ values: [Double], _ index: Int) -> String {
                guard commands[index] != nil else { return "absent" }
                guard !values.isEmpty else { return "failed" }
                return String(format: "%.0f ms", values.sorted()[values.count / 2] * 1000)
            }
            rows.append(["\(size)", median(times[0], 0), median(times[1], 1), median(times[2], 2), failures.map(String.init).joined(separator: "/")])
        }
        print(TextTable.render(rows), terminator: "")
    }

    /// Wall time of one run in seconds; nil when it failed (non-zero exit, or killed after `timeout`).
    static func time(_ command: [String], timeout: Int) -> Double? {
        let started = ContinuousClock.now
        guard let run = try? HostCommand(command[0], Array(command.dropFirst()), timeout: .seconds(timeout)).runAllowingFailure() else {
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
