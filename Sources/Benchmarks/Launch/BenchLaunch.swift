import Control
import Foundation
import HostProcess
#if canImport(Glibc)
import Glibc
#endif

/// One run of a launcher for the MPI benchmarks: its time, exit status and standard output, bounded by a
/// timeout (a run still going is killed with its process group and counted as failed).
struct BenchLaunch {
    var elapsed: Duration
    var status: Int32
    var stdout: String
    var timedOut: Bool

    static func run(_ path: String, _ arguments: [String], environment extra: [String: String] = [:],
                    timeout: Duration) async -> BenchLaunch {
        let output = NSTemporaryDirectory() + "vhpc-bench-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).out"
        let outFD = open(output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        let devNull = open("/dev/null", O_WRONLY | O_CLOEXEC)
        defer {
            close(outFD)
            close(devNull)
            unlink(output)
        }
        var environment = ProcessInfo.processInfo.environment
        environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        environment.merge(extra) { _, new in new }
        let started = ContinuousClock.now
        guard let pid = try? ProcessSpawner.spawnNow(
            executable: path, arguments: arguments, environment: environment,
            streams: .init(stdout: outFD, stderr: devNull), newProcessGroup: true) else {
            return BenchLaunch(elapsed: .zero, status: 127, stdout: "", timedOut: false)
        }
        let watchdog = Task {
            try await Task.sleep(for: timeout)
            kill(-pid, SIGKILL)
        }
        let status = await ChildReaper.shared.waitForExit(pid)
        let elapsed = ContinuousClock.now - started
        watchdog.cancel()
        // Whatever the launcher left behind (a killed mpirun's orphans) must not run into the next run.
        kill(-pid, SIGKILL)
        await BootstrapBenchmark.waitUntilChildless()
        let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        return BenchLaunch(elapsed: elapsed, status: status, stdout: text, timedOut: elapsed >= timeout)
    }

    /// The path of the running vhpc executable.
    static var vhpc: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    /// Where benchmarks build their programs: under /var/tmp, which Slurm nodes share with this machine (the
    /// test cluster's nodes have a /tmp each, as real nodes do).
    static let buildDirectory = "/var/tmp/vhpc-bench-\(getpid())"

    /// Compiles C `source` with `compiler` into ``buildDirectory``; nil (with the reason printed) if it fails.
    static func compile(_ source: String, name: String, with compiler: String, flags: [String] = ["-O2"]) -> String? {
        let directory = buildDirectory
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let file = directory + "/\(name).c"
        let binary = directory + "/\(name)"
        guard (try? source.write(toFile: file, atomically: true, encoding: .utf8)) != nil else { return nil }
        guard let compiled = try? HostCommand(compiler, flags + ["-o", binary, file]).runAllowingFailure() else {
            print("cannot run \(compiler)")
            return nil
        }
        guard compiled.status == 0 else {
            print("\(compiler) failed on \(name).c")
            return nil
        }
        return binary
    }

    static func median(_ values: [Duration]) -> Duration? {
        values.isEmpty ? nil : values.sorted()[values.count / 2]
    }
}
