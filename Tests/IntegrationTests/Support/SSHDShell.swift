import Control
import Foundation
import HostProcess
#if canImport(Glibc)
import Glibc
#endif

/// Small process and socket helpers for the sshd fixtures. Children go through `ProcessSpawner` and
/// `ChildReaper` (the same machinery the launchers use: that reaper owns `waitpid` in this process).
enum SSHDShell {
    /// A helper command that failed.
    struct CommandFailed: Error, CustomStringConvertible {
        var command: [String]
        var status: Int32
        var output: String
        var description: String { "\(command.joined(separator: " ")) exited \(status): \(output)" }
    }

    /// Runs `argv` to completion; returns its combined stdout and stderr. Throws unless it exits 0.
    @discardableResult
    static func run(_ argv: [String]) async throws -> String {
        let (status, output) = try await runStatus(argv)
        guard status == 0 else { throw CommandFailed(command: argv, status: status, output: output) }
        return output
    }

    /// Runs `argv` to completion; returns exit status and combined output.
    static func runStatus(_ argv: [String]) async throws -> (Int32, String) {
        let path = NSTemporaryDirectory() + "vhpc-sshd-cmd-\(getpid())-\(UUID().uuidString)"
        let fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SpawnError(executable: path, errorNumber: errno) }
        defer { close(fd); unlink(path) }
        let null = open("/dev/null", O_RDONLY | O_CLOEXEC)
        defer { close(null) }
        let pid = try await ProcessSpawner.spawn(
            executable: argv[0], arguments: Array(argv.dropFirst()), environment: ProcessInfo.processInfo.environment,
            streams: .init(stdin: null, stdout: fd, stderr: fd), newProcessGroup: true)
        let status = await ChildReaper.shared.waitForExit(pid)
        let output = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return (status, output.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Starts a long-running `argv` with stdout and stderr appended to `logPath`; returns its pid (leader of
    /// its own process group).
    static func start(_ argv: [String], logPath: String) async throws -> pid_t {
        let log = open(logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard log >= 0 else { throw SpawnError(executable: logPath, errorNumber: errno) }
        defer { close(log) }
        let null = open("/dev/null", O_RDONLY | O_CLOEXEC)
        defer { close(null) }
        return try await ProcessSpawner.spawn(
            executable: argv[0], arguments: Array(argv.dropFirst()), environment: ProcessInfo.processInfo.environment,
            streams: .init(stdin: null, stdout: log, stderr: log), newProcessGroup: true, parentDeathSignal: SIGKILL)
    }

    /// Whether `pid` exists and is not a zombie.
    static func isAlive(_ pid: pid_t) -> Bool {
        guard kill(pid, 0) == 0 else { return false }
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(after: close)...].split(separator: " ").first
        return state != "Z" && state != "X"
    }

    /// Polls until `pid` is gone or `timeout` passes; returns whether it is gone.
    static func waitUntilGone(_ pid: pid_t, timeout: Duration = .seconds(5)) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while isAlive(pid) {
            if ContinuousClock.now >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return true
    }

    /// Every live descendant of `root` (children, grandchildren…), from `/proc`.
    static func descendants(of root: pid_t) -> [pid_t] {
        var parentOf: [pid_t: pid_t] = [:]
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for entry in entries {
            guard let pid = pid_t(entry),
                  let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 2, fields[0] != "Z", let parent = pid_t(fields[1]) else { continue }
            parentOf[pid] = parent
        }
        var result: [pid_t] = []
        var frontier: Set<pid_t> = [root]
        while !frontier.isEmpty {
            let next = parentOf.filter { frontier.contains($0.value) }.map(\.key)
            result += next
            frontier = Set(next)
        }
        return result
    }

    /// Live ssh clients this test process started (directly or below) whose command line contains `marker`
    /// (a fixture's directory or port, so clients of concurrently running suites are not counted).
    static func sshClients(containing marker: String) -> [pid_t] {
        descendants(of: getpid()).filter { pid in
            guard let comm = try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8),
                  comm.trimmingCharacters(in: .whitespacesAndNewlines) == "ssh",
                  let raw = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            let cmdline = String(decoding: raw.map { $0 == 0 ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
            return cmdline.contains(marker) && isAlive(pid)
        }
    }

    /// Live processes whose environment holds the exact entry `entry` (`NAME=value`).
    static func processes(withEnvironment entry: String) -> [pid_t] {
        let wanted = Array(entry.utf8)
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { pid_t($0) }.filter { pid in
            guard pid != getpid(), let raw = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { return false }
            return raw.split(separator: 0).contains { $0.elementsEqual(wanted) } && isAlive(pid)
        }
    }

    /// SIGKILLs `pid`'s descendants and then `pid` (each by pid), and reaps `pid`.
    static func killTree(_ pid: pid_t) async {
        for child in descendants(of: pid) { kill(child, SIGKILL) }
        kill(pid, SIGKILL)
        _ = await ChildReaper.shared.waitForExit(pid)
    }

    /// A TCP port on 127.0.0.1 that was free a moment ago.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw SpawnError(executable: "socket", errorNumber: errno) }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
                guard bind(fd, pointer, length) == 0 else { return -1 }
                return getsockname(fd, pointer, &length)
            }
        }
        guard bound == 0 else { throw SpawnError(executable: "bind", errorNumber: errno) }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Whether a TCP connection to `host:port` (IPv4 literal) succeeds now.
    static func canConnect(host: String, port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr(host)
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}
