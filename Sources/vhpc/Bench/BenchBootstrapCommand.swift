import ArgumentParser
import Control
import Foundation
import Launch
import Logging

/// `vhpc bench bootstrap`: time until N agents are up and BMG-wired (local launcher), N real processes
/// running `true` through vhpc, and Open MPI's `mpirun --oversubscribe -n N true` when installed.
struct BenchBootstrapCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bootstrap", abstract: "Agent bootstrap time vs mpirun.")

    @Option(help: "Agent counts.") var sizes: [Int] = [16, 64, 256, 1024]
    @Option(help: "Boot tree fanouts to compare.") var fanout: [Int] = [2, 8]
    @Option(name: .customLong("agents-per-process"), help: "Agents per OS process for N ≥ 256.") var agentsPerProcess: Int = 64
    @Option(name: .customLong("repeat"), help: "Repetitions per point (median reported).") var repetitions: Int = 3

    func run() async throws {
        LoggingSetup.bootstrap(verbose: false)
        ResourceLimits.raiseOpenFiles()
        signal(SIGPIPE, SIG_IGN)
        ProcessSpawner.becomeSubreaper()
        let mpirun = ExecutableLookup.resolve("mpirun")
        var rows = [["N", "FANOUT", "AGENTS/PROC", "WIRED (median)", "vhpc run true", "mpirun true"]]
        for size in sizes {
            for k in fanout {
                let perProcess = size >= 256 ? agentsPerProcess : 1
                var wired: [Duration] = []
                var full: [Duration] = []
                for _ in 0..<self.repetitions {
                    if let time = try await Self.job(size: size, fanout: k, perProcess: perProcess, bootstrapOnly: true) { wired.append(time) }
                    if let time = try await Self.job(size: size, fanout: k, perProcess: perProcess, bootstrapOnly: false) { full.append(time) }
                }
                var mpi = "-"
                if let mpirun, k == fanout.first {
                    var times: [Duration] = []
                    for _ in 0..<self.repetitions { if let time = await Self.mpirun(mpirun, size) { times.append(time) } }
                    mpi = Self.format(Self.median(times))
                }
                rows.append(["\(size)", "\(k)", "\(perProcess)", Self.format(Self.median(wired)), Self.format(Self.median(full)), mpi])
                print(TextTable.render(rows.suffix(1)), terminator: "")
            }
        }
        print("")
        print(TextTable.render(rows), terminator: "")
        if mpirun == nil { print("mpirun not installed (apt-get install -y openmpi-bin) — column left empty") }
    }

    static func job(size: Int, fanout: Int, perProcess: Int, bootstrapOnly: Bool) async throws -> Duration? {
        var options = JobOptions(
            jobID: "bench-\(getpid())-\(size)", nodeCount: size, taskCount: size, hosts: [], executable: "true",
            arguments: [], workingDirectory: "/")
        options.fanout = fanout
        options.agentsPerProcess = perProcess
        options.bootstrapOnly = bootstrapOnly
        options.heartbeat = .seconds(2)
        options.handshakeWindow = .seconds(30)
        let started = ContinuousClock.now
        let runner = JobRunner(options: options, spawner: LauncherAgentSpawner(launcher: LocalLauncher()), logger: Logger(label: "bench"))
        let result = try await runner.run(events: { _ in })
        guard result.failures.isEmpty else { return nil }
        return bootstrapOnly ? result.bootstrapTime : (ContinuousClock.now - started)
    }

    static func mpirun(_ path: String, _ size: Int) async -> Duration? {
        let started = ContinuousClock.now
        let devNull = open("/dev/null", O_WRONLY)
        defer { close(devNull) }
        guard let pid = try? ProcessSpawner.spawnNow(
            executable: path, arguments: ["--allow-run-as-root", "--oversubscribe", "-n", "\(size)", "true"],
            environment: ProcessInfo.processInfo.environment, streams: .init(stdout: devNull, stderr: devNull),
            newProcessGroup: true) else { return nil }
        let status = await ChildReaper.shared.waitForExit(pid)
        return status == 0 ? ContinuousClock.now - started : nil
    }

    static func median(_ values: [Duration]) -> Duration? {
        values.isEmpty ? nil : values.sorted()[values.count / 2]
    }

    static func format(_ value: Duration?) -> String {
        guard let value else { return "failed" }
        return String(format: "%.3f s", Double(value.milliseconds) / 1000)
    }
}
