import CControlSupport
import Foundation
import Logging
import NIOCore
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// Runs a node's tasks as ordinary processes: each in its own process group, killed by the kernel if the agent
/// dies (parent-death signal), stdout/stderr read line by line, stdin only for global rank 0.
public struct ProcessTaskBackend: TaskBackend {
    /// Environment every task starts from (the agent's own by default).
    public var baseEnvironment: [String: String]
    /// Time between SIGTERM and SIGKILL on terminate.
    public var killGrace: Duration
    let logger: Logger

    public init(baseEnvironment: [String: String] = ProcessInfo.processInfo.environment, killGrace: Duration = .milliseconds(500), logger: Logger) {
        self.baseEnvironment = baseEnvironment
        self.killGrace = killGrace
        self.logger = logger
    }

    public func run(_ plan: NodeTaskPlan, controls: AsyncStream<TaskControl>, report: @escaping @Sendable (AgentEvent) -> Void) async {
        guard !plan.taskRanks.isEmpty else { return }
        let pathVariable = plan.environment["PATH"] ?? baseEnvironment["PATH"]
        guard let executable = ExecutableLookup.resolve(plan.executable, path: pathVariable) else {
            report(.launchFailed(message: "command not found on node \(plan.node) (\(plan.host)): \(plan.executable)"))
            return
        }
        var started: [(rank: Int, pid: pid_t, stdinFD: Int32?, out: Int32, err: Int32)] = []
        for rank in plan.taskRanks {
            do {
                let outPipe = try Self.pipe()
                let errPipe = try Self.pipe()
                var stdinFD: Int32? = nil
                var childStdin = open("/dev/null", O_RDONLY | O_CLOEXEC)
                if rank == 0 {
                    let inPipe = try Self.pipe()
                    close(childStdin)
                    childStdin = inPipe.read
                    stdinFD = inPipe.write
                }
                defer {
                    close(childStdin)
                    close(outPipe.write)
                    close(errPipe.write)
                }
                let pid = try await ProcessSpawner.spawn(
                    executable: executable, arguments: plan.arguments,
                    environment: plan.environment(forTask: rank, base: baseEnvironment),
                    streams: .init(stdin: childStdin, stdout: outPipe.write, stderr: errPipe.write),
                    newProcessGroup: true, parentDeathSignal: SIGKILL)
                started.append((rank, pid, stdinFD, outPipe.read, errPipe.read))
            } catch {
                report(.launchFailed(message: "cannot start on node \(plan.node) (\(plan.host)): \(error)"))
                for task in started { kill(-task.pid, SIGKILL) }
                break
            }
        }
        let tasks = started
        await withTaskGroup(of: Bool.self) { group in
            for task in tasks {
                group.addTask {
                    async let out: Void = PipeReader(fd: task.out).run { data, eos in
                        report(.taskOutput(task: task.rank, stream: .stdout, data: data, endOfStream: eos))
                    }
                    async let err: Void = PipeReader(fd: task.err).run { data, eos in
                        report(.taskOutput(task: task.rank, stream: .stderr, data: data, endOfStream: eos))
                    }
                    let status = await ChildReaper.shared.waitForExit(task.pid)
                    _ = await (out, err)
                    report(.taskExited(task: task.rank, status: status, message: ""))
                    return true
                }
            }
            let pids = tasks.map(\.pid)
            let stdinFD = tasks.first { $0.stdinFD != nil }?.stdinFD
            let grace = killGrace
            group.addTask {
                for await control in controls {
                    switch control {
                    case .signal(let number):
                        for pid in pids { kill(-pid, number) }
                    case .stdin(_, let data, let eos):
                        if let fd = stdinFD {
                            data.withUnsafeReadableBytes { bytes in
                                var offset = 0
                                while offset < bytes.count {
                                    let written = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                                    if written <= 0 { break }
                                    offset += written
                                }
                            }
                            if eos { close(fd) }
                        }
                    case .terminate:
                        for pid in pids { kill(-pid, SIGTERM) }
                        try? await Task.sleep(for: grace)
                        for pid in pids { kill(-pid, SIGKILL) }
                    }
                }
                return false
            }
            var exited = 0
            while exited < tasks.count, let isTask = await group.next() {
                if isTask { exited += 1 }
            }
            group.cancelAll()
        }
    }

    private static func pipe() throws -> (read: Int32, write: Int32) {
        var fds: [Int32] = [0, 0]
        guard vhpc_pipe_cloexec(&fds) == 0 else {
            throw SpawnError(executable: "pipe", errorNumber: errno)
        }
        return (fds[0], fds[1])
    }
}
