import Foundation
import HostProcess
#if canImport(Glibc)
import Glibc
#endif

/// The embedded launcher: every "node" is this machine; the process is our child, in its own process group
/// (so the job can be swept by group and the terminal's Ctrl-C reaches only the front-end) and its own session,
/// as hydra's `hydra_pmi_proxy`: under the kernel's autogroup scheduling a session is one CPU-fairness group,
/// so an agent serving its tasks' PMI is not starved by whatever else runs in the user's session.
public struct LocalLauncher: Launcher {
    public var name: String { "local" }
    public var startsOnThisMachine: Bool { true }
    /// Keep the child's stdin open after writing the request's bytes, as long as this process lives: the ssh
    /// launcher's lifetime contract (end of file = the launcher is gone), for hosts of an ssh-launched job
    /// that are this machine.
    public let keepsStandardInputOpen: Bool

    public init(keepsStandardInputOpen: Bool = false) {
        self.keepsStandardInputOpen = keepsStandardInputOpen
    }

    public func launch(_ request: LaunchRequest) async throws -> any LaunchedProcess {
        let (process, input) = try await start(request)
        request.standardInput.withUnsafeBytes { writeAll(input, $0) }
        // Kept open, the pipe closes when this process exits: the agent then reads end of file, as from a
        // dropped ssh connection (one descriptor per such child, held for the job's life).
        if !keepsStandardInputOpen { close(input) }
        return process
    }

    /// Starts the process with a pipe on its stdin and hands back the pipe's write end, unwritten: the
    /// caller writes (``writeAll(_:_:)``) and closes it when it has something to say (a job step started
    /// before its configuration is known). `request.standardInput` is not written. `standardOutput` and
    /// `standardError`, when given, are the child's (else it shares this process's).
    public func start(_ request: LaunchRequest, standardOutput: Int32 = -1, standardError: Int32 = -1) async throws
        -> (process: LocalProcess, standardInput: Int32) {
        let command = ([request.executable] + request.arguments).joined(separator: " ")
        let fds: [Int32]
        do {
            let pipe = try ProcessSpawner.makePipe()
            fds = [pipe.read, pipe.write]
        } catch {
            throw LaunchError(host: request.host, command: command, reason: "\(error)")
        }
        let environment = ProcessInfo.processInfo.environment.merging(request.environment) { _, new in new }
        let pid: pid_t
        do {
            pid = try await ProcessSpawner.spawn(
                executable: request.executable, arguments: request.arguments, environment: environment,
                streams: .init(stdin: fds[0], stdout: standardOutput, stderr: standardError), newProcessGroup: true, newSession: true)
        } catch {
            close(fds[0])
            close(fds[1])
            throw LaunchError(host: request.host, command: command, reason: "\(error)")
        }
        close(fds[0])
        return (LocalProcess(host: request.host, pid: pid), fds[1])
    }

    /// Every agent process of a local job is on this machine, in a process group of its own: after the grace
    /// period, SIGKILL the groups still alive — including agent processes whose agents never joined (found
    /// as this subreaper's descendants naming the job) — and wait until they are gone.
    public func sweep(_ job: AgentSweep) async {
        var pids = job.agentPIDs.union(job.spawned.map(\.pid))
        pids.remove(getpid())
        await ProcessExitWatch.waitUntilGone(pids, for: job.grace)
        pids.formUnion(JobProcessScan.agentProcesses(of: job.jobID, below: getpid()))
        let survivors = pids.filter { JobProcessScan.isAlive($0) && JobProcessScan.processGroup(of: $0) == $0 }
        for pid in survivors { kill(-pid, SIGKILL) }
        // SIGKILL is delivered asynchronously (a stopped agent must first be woken): the job is not over until
        // they are gone (bounded: a process in uninterruptible sleep may lag).
        await ProcessExitWatch.waitUntilGone(survivors, for: .seconds(2))
    }

    /// SIGKILLs the process group of every agent process of the job below this one.
    public func killAgentsNow(jobID: String) {
        for pid in JobProcessScan.agentProcesses(of: jobID, below: getpid()) { kill(-pid, SIGKILL) }
    }
}

/// A child started by ``LocalLauncher``; signals go to its whole process group.
public struct LocalProcess: LaunchedProcess {
    public let host: String
    public let pid: Int32

    public func signal(_ signal: Int32) {
        kill(-pid, signal)
    }

    public func waitForExit() async -> Int32 {
        await ChildReaper.shared.waitForExit(pid)
    }
}
