import Control
import Foundation
import HostProcess
import TextReport

/// `vhpc bench mpi`: the same `MPI_Init; MPI_Allreduce; MPI_Finalize` program, built with Open MPI and with
/// MPICH, started by `vhpc run` and by the launchers they come with (`mpirun.openmpi`, `mpiexec.hydra`), and by
/// Slurm's `srun --mpi=pmix|pmi2` when a Slurm cluster answers `sinfo`. A run counts only if it exits 0 and
/// every rank printed the right sum for N ranks (a singleton run prints "of 1"); medians and failures.
public struct MPIBenchmark: Sendable {
    public var sizes: [Int]
    public var runs: Int
    public var nodes: Int
    public var timeout: Int

    public init(sizes: [Int], runs: Int, nodes: Int, timeout: Int) {
        self.sizes = sizes
        self.runs = runs
        self.nodes = nodes
        self.timeout = timeout
    }

    /// `tests/fixtures/mpi/allreduce.c`.
    static let program = """
        #include <mpi.h>
        #include <stdio.h>
        int main(int argc, char **argv) {
            MPI_Init(&argc, &argv);
            int rank, size, sum = 0;
            MPI_Comm_rank(MPI_COMM_WORLD, &rank);
            MPI_Comm_size(MPI_COMM_WORLD, &size);
            int value = rank + 1;
            MPI_Allreduce(&value, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
            char host[256]; int len; MPI_Get_processor_name(host, &len);
            printf("rank %d of %d on %s: allreduce sum = %d (expected %d)\\n", rank, size, host, sum, size * (size + 1) / 2);
            MPI_Finalize();
            return sum == size * (size + 1) / 2 ? 0 : 1;
        }
        """

    struct Launcher {
        var name: String
        var path: String?
        var arguments: (Int) -> [String]
        var missing: String
    }

    public func run() async throws {
        signal(SIGPIPE, SIG_IGN)
        ProcessSpawner.becomeSubreaper()
        defer { try? FileManager.default.removeItem(atPath: BenchLaunch.buildDirectory) }
        let openMPI = BenchLaunch.compile(Self.program, name: "allreduce-openmpi", with: "/usr/bin/mpicc.openmpi")
        let mpich = BenchLaunch.compile(Self.program, name: "allreduce-mpich", with: "/usr/bin/mpicc.mpich")
        let slurm = await Self.slurmAnswers()
        let vhpc = BenchLaunch.vhpc
        let nodes = self.nodes
        func program(_ binary: String?, _ tail: @escaping (Int, String) -> [String]) -> (Int) -> [String] {
            { size in binary.map { tail(size, $0) } ?? [] }
        }
        let launchers = [
            Launcher(name: "vhpc run (Open MPI)", path: openMPI.map { _ in vhpc },
                     arguments: program(openMPI) { ["run", "-N", "\(min(nodes, $0))", "-n", "\($0)", "--", $1] }, missing: "no mpicc.openmpi"),
            Launcher(name: "vhpc run (MPICH)", path: mpich.map { _ in vhpc },
                     arguments: program(mpich) { ["run", "-N", "\(min(nodes, $0))", "-n", "\($0)", "--", $1] }, missing: "no mpicc.mpich"),
            // One fork thread: Debian's Open MPI 4.1 hangs most runs of 64 or more local processes when it forks
            // from several (see `vhpc bench bootstrap`).
            Launcher(name: "mpirun.openmpi", path: openMPI.flatMap { _ in ExecutableLookup.resolve("mpirun.openmpi") },
                     arguments: program(openMPI) { ["--oversubscribe", "--mca", "odls_base_max_threads", "1", "-n", "\($0)", $1] },
                     missing: "n/a (no openmpi-bin)"),
            Launcher(name: "mpiexec.hydra (MPICH)", path: mpich.flatMap { _ in ExecutableLookup.resolve("mpiexec.hydra") },
                     arguments: program(mpich) { ["-n", "\($0)", $1] }, missing: "n/a (no mpich)"),
            Launcher(name: "srun --mpi=pmix (Open MPI)", path: slurm ? openMPI.flatMap { _ in ExecutableLookup.resolve("srun") } : nil,
                     arguments: program(openMPI) { ["--mpi=pmix", "-n", "\($0)", $1] }, missing: "n/a (no Slurm: sinfo does not answer)"),
            Launcher(name: "srun --mpi=pmi2 (MPICH)", path: slurm ? mpich.flatMap { _ in ExecutableLookup.resolve("srun") } : nil,
                     arguments: program(mpich) { ["--mpi=pmi2", "-n", "\($0)", $1] }, missing: "n/a (no Slurm: sinfo does not answer)"),
        ]
        var rows = [["LAUNCHER"] + sizes.map { "N = \($0)" }]
        for launcher in launchers {
            var row = [launcher.name]
            for size in sizes {
                guard let path = launcher.path else {
                    row.append(launcher.missing)
                    continue
                }
                var times: [Duration] = []
                var failures = 0
                for _ in 0..<runs {
                    let outcome = await BenchLaunch.run(path, launcher.arguments(size), timeout: .seconds(timeout))
                    if outcome.status == 0, !outcome.timedOut, Self.correct(outcome.stdout, size: size) {
                        times.append(outcome.elapsed)
                    } else {
                        failures += 1
                    }
                }
                let median = BenchLaunch.median(times).map { String(format: "%.0f ms", $0.seconds * 1000) } ?? "-"
                row.append(median + (failures > 0 ? " (\(failures)/\(runs) failed)" : ""))
            }
            rows.append(row)
            print(launcher.name + ": " + row.dropFirst().joined(separator: ", "))
        }
        print("")
        print(TextTable.render(rows))
        print("median of \(runs) runs from start to exit; a run counts when it exits 0 and all N ranks print the right sum (correct), else it is a failure. vhpc run: -N \(nodes) (at most N nodes) -n N, --mpi auto.")
        print("anchors (issue 14, medians of 5, N = 4/16/64): hydra 192/693/3,632 ms; srun pmi2 327/924/4,255; srun pmix 471/760/3,025; mpirun 387/653/2,522; vhpc (MPICH) 182/528/2,515.")
    }

    /// Whether every one of `size` ranks printed the sum of 1…size for a world of `size` ranks.
    static func correct(_ stdout: String, size: Int) -> Bool {
        let expected = size * (size + 1) / 2
        let lines = stdout.split(separator: "\n").filter { $0.contains(" of \(size) on ") && $0.hasSuffix("allreduce sum = \(expected) (expected \(expected))") }
        return lines.count == size && stdout.contains("rank 0 of \(size) on ")
    }

    /// Whether a Slurm cluster answers (`sinfo` exits 0 within 5 s).
    static func slurmAnswers() async -> Bool {
        guard let sinfo = ExecutableLookup.resolve("sinfo") else { return false }
        let outcome = await BenchLaunch.run(sinfo, ["-h"], timeout: .seconds(5))
        return outcome.status == 0 && !outcome.timedOut
    }
}
