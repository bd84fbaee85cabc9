import Foundation
import HostProcess
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// A running `qemu-system-x86_64`.
///
/// *Attached* processes are started in their own process group with a parent-death SIGKILL (HostProcess's
/// spawner), so they die with their owner. *Detached* ones (`vhpc vm start`) use QEMU's `-daemonize -pidfile` and outlive the CLI;
/// they are tracked by pid.
public final class QEMUProcess: Sendable {
    public let pid: pid_t
    public let attached: Bool
    /// QEMU's own stderr (attached processes; detached ones log here only until they daemonize).
    public let stderrPath: String
    private let child: ChildProcess?

    init(pid: pid_t, attached: Bool, stderrPath: String, child: ChildProcess?) {
        self.pid = pid
        self.attached = attached
        self.stderrPath = stderrPath
        self.child = child
    }

    /// Adopts a detached QEMU by pid (from a VM record).
    public static func adopt(pid: pid_t, stderrPath: String) -> QEMUProcess {
        QEMUProcess(pid: pid, attached: false, stderrPath: stderrPath, child: nil)
    }

    /// Starts QEMU. For detached launches `commandLine.daemonizePIDFile` must be set; the call returns once
    /// QEMU has daemonized (its devices and sockets exist).
    public static func launch(_ commandLine: QEMUCommandLine, stderrPath: String,
                              locator: ExecutableLocator = ExecutableLocator(), logger: Logger) async throws -> QEMUProcess {
        let qemu = try locator.require(commandLine.executable)
        var line = commandLine
        line.executable = qemu
        let argv = line.arguments
        let detached = commandLine.daemonizePIDFile != nil
        logger.debug("starting qemu", metadata: ["vm": "\(commandLine.profile.name)", "argv": "\(argv.joined(separator: " "))"])
        let child: ChildProcess
        do {
            child = try await ChildProcess.spawn(argv, environment: ["PATH": locator.searchPath], stdoutPath: stderrPath,
                                                 stderrPath: stderrPath, parentDeathSignal: detached ? nil : SIGKILL)
        } catch {
            throw V2MError.spawnFailed(command: argv.joined(separator: " "), reason: "\(error)")
        }
        guard let pidFile = commandLine.daemonizePIDFile else {
            return QEMUProcess(pid: child.pid, attached: true, stderrPath: stderrPath, child: child)
        }
        // The foreground QEMU exits once the daemon is initialized (0) or failed (non-zero).
        guard let termination = await child.waitForExit(timeout: .seconds(60)) else {
            await child.killAndReap()
            throw V2MError.exitedDuringBoot(vm: commandLine.profile.name, status: "did not daemonize within 60 s",
                                            console: tail(of: stderrPath, lines: 3))
        }
        guard termination.code == 0 else {
            throw V2MError.exitedDuringBoot(vm: commandLine.profile.name, status: termination.description,
                                            console: tail(of: stderrPath, lines: 3))
        }
        guard let text = try? String(contentsOfFile: pidFile, encoding: .utf8),
              let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw V2MError.exitedDuringBoot(vm: commandLine.profile.name, status: "wrote no pid file \(pidFile)", console: [])
        }
        return QEMUProcess(pid: pid, attached: false, stderrPath: stderrPath, child: nil)
    }

    /// True while the process exists (and is not a zombie).
    public var isRunning: Bool {
        if let child { return child.isRunning }
        return Self.processExists(pid)
    }

    /// For attached processes, how it ended once it has.
    public var termination: Termination? { child?.termination }

    /// How the process ended, in words ("killed by signal 9"), when known.
    public var exitDescription: String {
        if let termination { return termination.description }
        return isRunning ? "running" : "exited"
    }

    /// Waits for the process to end; true if it did within `timeout` (attached: the reaper's word, no polling).
    @discardableResult
    public func waitForExit(timeout: Duration) async -> Bool {
        if let child { return await child.waitForExit(timeout: timeout) != nil }
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while isRunning {
            if clock.now >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return true
    }

    /// Sends `signal` to the process (and its group when attached).
    public func signal(_ signal: Int32) {
        if attached { kill(-pid, signal) }
        kill(pid, signal)
    }

    /// SIGTERM, then SIGKILL after `grace`; waits until gone.
    public func terminate(grace: Duration = .seconds(3)) async {
        guard isRunning else { return }
        signal(SIGTERM)
        if await waitForExit(timeout: grace) { return }
        signal(SIGKILL)
        await waitForExit(timeout: .seconds(5))
    }

    /// True if `pid` exists and is not a zombie.
    public static func processExists(_ pid: pid_t) -> Bool {
        guard pid > 0, kill(pid, 0) == 0 || errno == EPERM else { return false }
        if let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
           let close = stat.lastIndex(of: ")") {
            let rest = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces)
            if rest.hasPrefix("Z") || rest.hasPrefix("X") { return false }
        }
        return true
    }

    /// The last `lines` non-empty lines of a text file (console log, stderr).
    public static func tail(of path: String, lines: Int) -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        let text = String(decoding: data.suffix(16 * 1024), as: UTF8.self)
        return text.split(whereSeparator: { $0 == "\n" || $0 == "\r" })
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
            .suffix(lines)
            .map { String($0) }
    }
}
