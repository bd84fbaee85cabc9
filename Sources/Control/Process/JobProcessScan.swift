import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Finds a job's agent processes among the descendants of a process, from /proc.
///
/// The front-end of a local job is a child subreaper: an agent process whose parent process died is
/// re-parented to it, so every agent process of the job that is still alive is a descendant — including
/// ones it never learned the pid of (their agents failed before joining). They are told apart from other
/// descendants by their command line: `vhpc agent … --job JOB`.
public enum JobProcessScan {
    /// Live (not zombie) descendants of `root` whose command line names `jobID` after `--job`.
    public static func agentProcesses(of jobID: String, below root: pid_t) -> [pid_t] {
        let children = childrenByParent(includingZombies: false)
        var found: [pid_t] = []
        var queue = children[root] ?? []
        while let pid = queue.popLast() {
            queue += children[pid] ?? []
            if names(jobID, pid) { found.append(pid) }
        }
        return found.sorted()
    }

    /// Live (not zombie) descendants of `root`, deepest last.
    public static func descendants(of root: pid_t) -> [pid_t] {
        let children = childrenByParent(includingZombies: false)
        var found: [pid_t] = []
        var queue = children[root] ?? []
        while !queue.isEmpty {
            let pid = queue.removeFirst()
            found.append(pid)
            queue += children[pid] ?? []
        }
        return found
    }

    /// Whether `pid` has any child process, zombies (exited, not yet reaped) included.
    public static func hasChildren(_ pid: pid_t) -> Bool {
        childrenByParent(includingZombies: true)[pid] != nil
    }

    /// Every process's children, from one pass over /proc.
    static func childrenByParent(includingZombies: Bool) -> [pid_t: [pid_t]] {
        var children: [pid_t: [pid_t]] = [:]
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for entry in entries {
            guard let pid = pid_t(entry), let (parent, state) = parentAndState(of: pid) else { continue }
            if !includingZombies, state == "Z" || state == "X" { continue }
            children[parent, default: []].append(pid)
        }
        return children
    }

    /// The parent pid and state letter of `pid`.
    static func parentAndState(of pid: pid_t) -> (pid_t, Substring)? {
        guard let fields = statFields(of: pid), fields.count > 1, let parent = pid_t(fields[1]) else { return nil }
        return (parent, fields[0])
    }

    /// The fields of `/proc/PID/stat` after the command name: state, ppid, pgrp, ….
    public static func statFields(of pid: pid_t) -> [Substring]? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        return stat[stat.index(after: close)...].split(separator: " ")
    }

    /// Whether the command line of `pid` has `--job JOB`.
    static func names(_ jobID: String, _ pid: pid_t) -> Bool {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
        let arguments = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        return zip(arguments, arguments.dropFirst()).contains { $0 == "--job" && $1 == jobID }
    }
}
