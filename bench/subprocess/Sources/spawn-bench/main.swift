import Foundation
import HostProcess
import Subprocess
#if canImport(Glibc)
import Glibc
#endif

/// `spawn-bench [--count N] [--rounds R] [--ballast MiB]`: starts `/bin/true` N times one after another, and
/// waits for each, through HostProcess's `ProcessSpawner` (clone(CLONE_VM|CLONE_VFORK) + exec, reaped by
/// `ChildReaper`) and through swift-subprocess 1.0.2's `run` (clone3(CLONE_PIDFD), a fork, + exec, its own
/// pidfd monitor), both in a session of their own (setsid, as vhpc's tasks), output to /dev/null. The two
/// alternate round by round; the figures are medians over the rounds of the per-spawn cost: wall time, and the
/// CPU time of this process (user + system, from getrusage: what the spawner costs its caller, which load does
/// not inflate). `--ballast` first touches that many MiB, as a big front-end or agent process would have: a fork
/// copies the page tables of all of it, a vfork-style clone none.
@main
struct SpawnBench {
    static func main() async throws {
        // Off the main actor: each await would otherwise hop back to the main thread.
        try await Task.detached { try await body() }.value
    }

    static func body() async throws {
        var count = 200, rounds = 7, ballastMiB = 0
        var arguments = CommandLine.arguments.dropFirst()
        while let option = arguments.popFirst() {
            guard let value = arguments.popFirst().flatMap(Int.init), value >= 0 else {
                FileHandle.standardError.write(Data("spawn-bench: \(option) needs a number\n".utf8))
                exit(2)
            }
            switch option {
            case "--count": count = max(1, value)
            case "--rounds": rounds = max(1, value)
            case "--ballast": ballastMiB = value
            default:
                FileHandle.standardError.write(Data("spawn-bench: unknown option \(option)\n".utf8))
                exit(2)
            }
        }
        let ballast = touch(mebibytes: ballastMiB)
        defer { ballast?.deallocate() }
        let environment = ProcessInfo.processInfo.environment
        let devNull = open("/dev/null", O_RDWR | O_CLOEXEC)
        var hostProcess: [Sample] = []
        var subprocess: [Sample] = []
        // One warm-up of each (first-use costs: the reaper's thread, the monitor's thread, dynamic linking).
        _ = try await measure(1) { try await spawnWithHostProcess(environment, devNull) }
        _ = try await measure(1) { try await spawnWithSubprocess() }
        for _ in 0..<rounds {
            hostProcess.append(try await measure(count) { try await spawnWithHostProcess(environment, devNull) })
            subprocess.append(try await measure(count) { try await spawnWithSubprocess() })
        }
        let rss = residentMiB()
        print("spawn /bin/true, \(count) spawns x \(rounds) rounds, ballast \(ballastMiB) MiB (RSS \(rss) MiB), load \(loadAverage())")
        print("per spawn, median (min-max)")
        print(["", "started", "until exit seen", "caller CPU", "context switches"]
            .map { $0.padding(toLength: 23, withPad: " ", startingAt: 0) }.joined())
        report("HostProcess (clone)", hostProcess)
        report("swift-subprocess 1.0.2", subprocess)
        let ratioWall = median(subprocess.map(\.wall)) / median(hostProcess.map(\.wall))
        let ratioCPU = median(subprocess.map(\.cpu)) / median(hostProcess.map(\.cpu))
        let ratioStarted = median(subprocess.map(\.started)) / median(hostProcess.map(\.started))
        print(String(format: "subprocess / HostProcess: started %.2fx, until exit seen %.2fx, caller CPU %.2fx", ratioStarted, ratioWall, ratioCPU))
    }

    struct Sample {
        /// Microseconds per spawn.
        var wall: Double
        var cpu: Double
        /// Context switches of this process's threads per spawn (voluntary + involuntary): thread wake-ups.
        var switches: Double
        /// Microseconds per spawn until the child was running.
        var started: Double
    }

    /// Returns how long the spawn took until the child was running (the call returned).
    static func spawnWithHostProcess(_ environment: [String: String], _ devNull: Int32) async throws -> Duration {
        let start = ContinuousClock.now
        let pid = try await ProcessSpawner.spawn(
            executable: "/bin/true", arguments: [], environment: environment,
            streams: .init(stdin: devNull, stdout: devNull, stderr: devNull), newProcessGroup: true, newSession: true)
        let started = ContinuousClock.now - start
        let status = await ChildReaper.shared.waitForExit(pid)
        guard status == 0 else { throw BenchError("HostProcess: /bin/true exited \(status)") }
        return started
    }

    /// Returns how long the spawn took until the child was running (the body was called).
    static func spawnWithSubprocess() async throws -> Duration {
        var options = PlatformOptions()
        options.createSession = true
        let start = ContinuousClock.now
        let result = try await run(.path("/bin/true"), environment: .inherit, platformOptions: options,
                                   input: .none, output: .discarded, error: .discarded) { _ in ContinuousClock.now - start }
        guard result.terminationStatus.isSuccess else { throw BenchError("swift-subprocess: /bin/true ended \(result.terminationStatus)") }
        return result.closureResult
    }

    static func measure(_ count: Int, _ spawn: @Sendable () async throws -> Duration) async throws -> Sample {
        let cpuBefore = cpuMicroseconds()
        let switchesBefore = contextSwitches()
        let start = ContinuousClock.now
        var started = Duration.zero
        for _ in 0..<count { started += try await spawn() }
        let wall = ContinuousClock.now - start
        let cpu = cpuMicroseconds() - cpuBefore
        let switches = contextSwitches() - switchesBefore
        let wallMicroseconds = microseconds(wall)
        return Sample(wall: wallMicroseconds / Double(count), cpu: cpu / Double(count), switches: switches / Double(count),
                      started: microseconds(started) / Double(count))
    }

    /// This process's user + system CPU time so far, in microseconds (every thread: the spawner's, the reaper's).
    static func cpuMicroseconds() -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1e6 + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec)
    }

    static func microseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1e6 + Double(duration.components.attoseconds) / 1e12
    }

    /// This process's context switches so far (every thread).
    static func contextSwitches() -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return Double(usage.ru_nvcsw + usage.ru_nivcsw)
    }

    static func touch(mebibytes: Int) -> UnsafeMutableRawPointer? {
        guard mebibytes > 0 else { return nil }
        let size = mebibytes << 20
        let memory = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 4096)
        // One store per page through a pointer the optimizer cannot see through (a plain memset of memory never
        // read again may be dropped).
        let pages = memory.bindMemory(to: UInt8.self, capacity: size)
        for offset in stride(from: 0, to: size, by: 4096) { pages[offset] = UInt8(truncatingIfNeeded: offset >> 12) | 1 }
        var checksum = 0
        for offset in stride(from: 0, to: size, by: 4096 * 64) { checksum &+= Int(pages[offset]) }
        if checksum == 0 { print("ballast checksum", checksum) }
        return memory
    }

    static func residentMiB() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kilobytes = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else { return -1 }
        return kilobytes >> 10
    }

    static func loadAverage() -> String {
        (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    static func report(_ name: String, _ samples: [Sample]) {
        let padded = name.padding(toLength: 23, withPad: " ", startingAt: 0)
        func column(_ values: [Double]) -> String {
            String(format: "%5.0f µs (%.0f-%.0f)", median(values), values.min()!, values.max()!).padding(toLength: 23, withPad: " ", startingAt: 0)
        }
        print(padded + column(samples.map(\.started)) + column(samples.map(\.wall)) + column(samples.map(\.cpu))
              + String(format: "%5.1f", median(samples.map(\.switches))))
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
