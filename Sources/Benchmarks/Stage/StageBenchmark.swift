import Control
import Foundation
import HostProcess
import Launch
import Logging
import NodeAgent
import TextReport
import VSE

/// `vhpc bench stage`: stage one file to N local agents over the tree, side by side with the machine's own
/// limit (N `cp`s of the file in parallel on the same filesystem) and a sequential copy to each node
/// (`cp` one after the other: what an scp loop from the front-end does, without ssh's encryption).
public struct StageBenchmark: Sendable {
    public var size: String
    public var nodes: [Int]
    public var fanout: Int
    public var agentsPerProcess: Int
    public var chunkSize: Int
    public var noFsync: Bool
    public var directory: String?

    public init(size: String, nodes: [Int], fanout: Int, agentsPerProcess: Int, chunkSize: Int, noFsync: Bool, directory: String?) {
        self.size = size
        self.nodes = nodes
        self.fanout = fanout
        self.agentsPerProcess = agentsPerProcess
        self.chunkSize = chunkSize
        self.noFsync = noFsync
        self.directory = directory
    }

    public func run() async throws {
        ResourceLimits.raiseOpenFiles()
        signal(SIGPIPE, SIG_IGN)
        ProcessSpawner.becomeSubreaper()
        guard let bytes = SizeParser.parseBytes(size) else { throw BenchmarkError("--size: cannot read '\(size)' (e.g. 1G, 256M)") }
        let base = directory ?? NSTemporaryDirectory() + "vhpc-bench-stage-\(getpid())"
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: base) }
        setenv("VHPC_HOME", base + "/home", 1)  // the agents' node directories: <base>/home/nodes/<rank>
        let source = base + "/source.bin"
        try Self.makeFile(source, bytes: bytes)
        let hashStart = ContinuousClock.now
        let files = try StagePlan.jobFiles([source], chunkSize: chunkSize)
        let hashTime = ContinuousClock.now - hashStart
        let mib = Double(bytes) / 1_048_576
        print(String(format: "file %.0f MiB, chunk %d KiB, fsync %@; front-end sha256 of the source: %.2f s (not counted below)",
                     mib, chunkSize / 1024, noFsync ? "off" : "on", hashTime.seconds))
        var rows = [["N", "vhpc stage", "MiB/s (all nodes)", "limit before / after", "vhpc / limit", "sequential cp", "sequential / vhpc"]]
        for n in nodes {
            let perProcess = n >= 64 ? agentsPerProcess : 1
            // Every point holds N copies at once (the staged files, then the limit's copies).
            let needed = bytes * UInt64(n) + bytes / 8
            if let free = Self.freeBytes(base), free < needed {
                print(String(format: "N=%d: skipped — needs %.1f GiB free in %@, has %.1f GiB (try a smaller --size)",
                             n, Double(needed) / 1_073_741_824, base, Double(free) / 1_073_741_824))
                continue
            }
            // The limit runs right before and right after vhpc, and the faster of the two counts: on a VM whose
            // freed memory goes back to the host, whichever writer comes first pays for the host's page faults.
            let limitBefore = try await copies(source, to: base + "/limit", count: n, parallel: true)
            let staged = try await stage(files, nodes: n, perProcess: perProcess)
            let limitAfter = try await copies(source, to: base + "/limit", count: n, parallel: true)
            let limit = min(limitBefore, limitAfter)
            let sequential = try await copies(source, to: base + "/seq", count: n, parallel: false)
            let row = [
                "\(n)", benchSeconds(staged),
                staged.map { String(format: "%.0f", mib * Double(n) / $0.seconds) } ?? "-",
                benchSeconds(limitBefore) + " / " + benchSeconds(limitAfter),
                staged.map { String(format: "%.2f", limit.seconds / $0.seconds) } ?? "-",
                benchSeconds(sequential),
                staged.map { String(format: "%.2f", sequential.seconds / $0.seconds) } ?? "-",
            ]
            rows.append(row)
            print(TextTable.render([rows[0], row]), terminator: "")
        }
        print("")
        print(TextTable.render(rows), terminator: "")
        print("limit = N `cp` processes at once, then `sync` of the copies (run before and after vhpc; the faster counts); sequential = `cp` (+ `sync`) to each node in turn")
    }

    private func stage(_ files: [StagingFile], nodes: Int, perProcess: Int) async throws -> Duration? {
        var options = JobOptions(
            jobID: "bench-stage-\(getpid())-\(nodes)", nodeCount: nodes, taskCount: nodes, hosts: [], executable: "true",
            arguments: [], workingDirectory: "/")
        options.fanout = fanout
        options.agentsPerProcess = perProcess
        options.heartbeat = .seconds(5)
        options.handshakeWindow = .seconds(60)
        options.staging = files
        options.stagingDurable = !noFsync
        let runner = JobRunner(options: options, spawner: LauncherAgentSpawner(launcher: LocalLauncher()), logger: Logger(label: "bench"))
        let result = try await runner.run(events: { _ in })
        guard result.failures.isEmpty, result.exitCode == 0 else {
            print("N=\(nodes): staging job failed (exit \(result.exitCode)): \(result.failures.map(\.description).joined(separator: "; "))")
            return nil
        }
        return result.stagingTime
    }

    /// `count` copies with `cp` (all at once or one after another), each followed by `sync FILE` unless
    /// --no-fsync; the copies are removed afterwards.
    private func copies(_ source: String, to directory: String, count: Int, parallel: Bool) async throws -> Duration {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let script = noFsync ? "cp \"$1\" \"$2\"" : "cp \"$1\" \"$2\" && sync \"$2\""
        let started = ContinuousClock.now
        if parallel {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<count {
                    group.addTask { try await Self.shell(script, source, directory + "/copy-\(index)") }
                }
                try await group.waitForAll()
            }
        } else {
            for index in 0..<count { try await Self.shell(script, source, directory + "/copy-\(index)") }
        }
        return ContinuousClock.now - started
    }

    private static func shell(_ script: String, _ a: String, _ b: String) async throws {
        let pid = try ProcessSpawner.spawnNow(
            executable: "/bin/sh", arguments: ["-c", script, "sh", a, b], environment: ProcessInfo.processInfo.environment,
            streams: .init(), newProcessGroup: false)
        let status = await ChildReaper.shared.waitForExit(pid)
        guard status == 0 else { throw BenchmarkError("copy \(a) → \(b) failed with status \(status)") }
    }

    /// Bytes free for this user on the filesystem holding `path`.
    static func freeBytes(_ path: String) -> UInt64? {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { return nil }
        return UInt64(info.f_bavail) * UInt64(info.f_frsize)
    }

    static func makeFile(_ path: String, bytes: UInt64) throws {
        guard let handle = FileHandle(forWritingAtPath: path) ?? {
            _ = FileManager.default.createFile(atPath: path, contents: nil)
            return FileHandle(forWritingAtPath: path)
        }() else { throw BenchmarkError("cannot create \(path)") }
        defer { try? handle.close() }
        // Incompressible bytes read from /dev/urandom a MiB at a time (one generator call per word took
        // ~40 s per GiB).
        guard let random = FileHandle(forReadingAtPath: "/dev/urandom") else { throw BenchmarkError("cannot open /dev/urandom") }
        defer { try? random.close() }
        var written: UInt64 = 0
        while written < bytes {
            let count = Int(min(1 << 20, bytes - written))
            guard let block = try random.read(upToCount: count), block.count == count else {
                throw BenchmarkError("/dev/urandom: short read")
            }
            try handle.write(contentsOf: block)
            written += UInt64(count)
        }
    }

}
