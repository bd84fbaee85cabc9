import Control
import Foundation
import HostProcess
import TextReport

/// `vhpc bench bad-exit`: how long after one rank's bad exit the front-end itself has exited (every other
/// task terminated, agents and VMs gone), for processes at -N 16 (a shell script, and the MPICH program of
/// issue 15 whose rank 1 exits 3 after `MPI_Init` while the others wait in `MPI_Allreduce`, beside MPICH's
/// `mpiexec.hydra` running it) and for 2 nodes × 2 VMs. Medians of several runs of the real CLI.
///
/// Processes: the failing rank writes the wall clock (ns) to a file just before `exit 3`; the bench takes the
/// time when `waitpid` returns. VMs (whose clocks are not the host's): the rank prints a line just before
/// `exit 3`; the time runs from that line's arrival on the front-end's stdout, so the figure leaves out the
/// line's few milliseconds of travel.
public struct BadExitBenchmark: Sendable {
    public var runs: Int
    public var nodes: Int
    public var vse: String
    public var noVMs: Bool
    public var mpiSource: String

    public init(runs: Int, nodes: Int, vse: String, noVMs: Bool, mpiSource: String) {
        self.runs = runs
        self.nodes = nodes
        self.vse = vse
        self.noVMs = noVMs
        self.mpiSource = mpiSource
    }

    public func run() async throws {
        let vhpc = ExecutableLookup.currentExecutable()
        let marker = NSTemporaryDirectory() + "vhpc-bench-bad-exit-\(getpid())"
        defer { unlink(marker) }
        let script = "if [ ${VHPC_RANK:-$PMI_RANK} = 7 ]; then sleep 1; date +%s%N > \(marker); exit 3; fi; sleep 60"
        var rows = [["JOB", "LAUNCHER", "MEDIAN", "MIN", "MAX", "EXIT", "RUNS", "TARGET"]]
        var configurations: [(String, String, [String])] = [
            ("\(nodes) processes (sh)", "vhpc run", [vhpc, "run", "-N", "\(nodes)", "--", "sh", "-c", script]),
        ]
        let program = NSTemporaryDirectory() + "vhpc-bench-early-exit-\(getpid())"
        defer { unlink(program) }
        if FileManager.default.fileExists(atPath: mpiSource), FileManager.default.isExecutableFile(atPath: "/usr/bin/mpicc.mpich") {
            if try HostCommand("/usr/bin/mpicc.mpich", ["-O2", "-o", program, mpiSource]).runAllowingFailure().status == 0 {
                configurations.append(("\(nodes) MPI ranks (issue 15)", "vhpc run", [vhpc, "run", "-N", "\(nodes)", "--", program]))
                configurations.append(("\(nodes) MPI ranks (issue 15)", "mpiexec.hydra", ["/usr/bin/mpiexec.hydra", "-n", "\(nodes)", program]))
            }
        }
        setenv("BAD_EXIT_MARKER", marker, 1)
        for (job, launcher, argv) in configurations {
            guard FileManager.default.isExecutableFile(atPath: argv[0]) else { continue }
            var samples: [Double] = []
            var status: Int32 = 0
            for _ in 0..<runs {
                unlink(marker)
                let (code, ended, _) = try Self.runToEnd(argv, watchLine: nil)
                status = code
                guard let text = try? String(contentsOfFile: marker, encoding: .utf8),
                      let exited = Double(text.trimmingCharacters(in: .whitespacesAndNewlines)) else { continue }
                samples.append(ended - exited / 1e9)
            }
            rows.append(Self.row(job, launcher, samples, status: status, target: "< 0.5 s"))
        }
        if !noVMs {
            let vmScript = "if [ $VHPC_RANK = 1 ]; then sleep 10; echo BAD-EXIT; exit 3; fi; sleep 120"
            let argv = [vhpc, "run", "--vse", vse, "-N", "2", "--vms-per-node", "2", "--", "sh", "-c", vmScript]
            var samples: [Double] = []
            var status: Int32 = 0
            for _ in 0..<runs {
                let (code, ended, seen) = try Self.runToEnd(argv, watchLine: "BAD-EXIT")
                status = code
                if let seen { samples.append(ended - seen) }
            }
            rows.append(Self.row("2 nodes × 2 VMs", "vhpc run --vse \(vse)", samples, status: status, target: "< 2 s"))
        }
        print(TextTable.render(rows), terminator: "")
    }

    static func row(_ job: String, _ launcher: String, _ samples: [Double], status: Int32, target: String) -> [String] {
        let sorted = samples.sorted()
        let format = { (value: Double?) in value.map { String(format: "%.3f s", $0) } ?? "-" }
        return [job, launcher, format(sorted.isEmpty ? nil : sorted[sorted.count / 2]), format(sorted.first), format(sorted.last),
                "\(status)", "\(sorted.count)", target]
    }

    /// Runs `argv` to its end; returns its status, the wall-clock time (s) it ended, and when a stdout line
    /// containing `watchLine` arrived.
    /// (HostProcess's spawner with a pipe read here, not a ``HostCommand``: the line's arrival is timed as it is read.)
    static func runToEnd(_ argv: [String], watchLine: String?) throws -> (Int32, Double, Double?) {
        let out = try ProcessSpawner.makePipe()
        let devNull = open("/dev/null", O_RDWR | O_CLOEXEC)
        defer { close(devNull) }
        let pid: pid_t
        do {
            pid = try ProcessSpawner.spawnNow(
                executable: argv[0], arguments: Array(argv.dropFirst()), environment: ProcessInfo.processInfo.environment,
                streams: .init(stdin: devNull, stdout: out.write, stderr: devNull), newProcessGroup: true)
        } catch {
            close(out.read)
            close(out.write)
            throw error
        }
        close(out.write)
        defer { close(out.read) }
        var seen: Double?
        var pending = Data()
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = read(out.read, &chunk, chunk.count)
            if count < 0, errno == EINTR { continue }
            if count <= 0 { break }
            if let watchLine, seen == nil {
                pending.append(contentsOf: chunk[0..<count])
                if String(decoding: pending, as: UTF8.self).contains(watchLine) { seen = Date().timeIntervalSince1970 }
            }
        }
        let status = ChildReaper.shared.waitForTerminationBlocking(pid).code
        return (status, Date().timeIntervalSince1970, seen)
    }
}
