import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Finds a job's agent processes among the descendants of a process, from /proc.
///
/// The front-end of a local job is a child subreaper: an agent process whose parent process died is
/// re-parented to it, so every agent process of the job that is still alive is a descendant — including
/// ones it never learned the pid of (their agents failed before joining). They are told apart from other
/// descendants by their command line: `vhpc-agent … --job JOB`.
public enum JobProcessScan {
    /// Live (not zombie) descendants of `root` whose command line names `jobID` after `--job`.
    public static func agentProcesses(of jobID: String, below root: pid_t) -> [pid_t] {
        descendants(of: root).filter { names(jobID, $0) }.sorted()
    }

    /// Live (not zombie) descendants of `root`, parents before their children.
    public static func descendants(of root: pid_t) -> [pid_t] {
        subtree(of: root).filter { pid in parentAndState(of: pid).map { !isDead($0.1) } ?? false }
    }

    /// Whether `pid` has any child process, zombies (exited, not yet reaped) included.
    public static func hasChildren(_ pid: pid_t) -> Bool {
        if let children = children(of: pid) { return !children.isEmpty }
        return childrenByParent(includingZombies: true)[pid] != nil
    }

    /// Every process below `root` (zombies included), parents first. It reads the kernel's per-thread
    /// child lists (`/proc/PID/task/TID/children`), so its cost follows the size of the job's subtree, not of
    /// the machine's process table (a pass over every process of /proc took ~20 ms at the end of each job).
    static func subtree(of root: pid_t) -> [pid_t] {
        guard children(of: root) != nil else {
            // A kernel without CONFIG_PROC_CHILDREN: one pass over the whole process table.
            let table = childrenByParent(includingZombies: true)
            var found: [pid_t] = []
            var queue = table[root] ?? []
            while !queue.isEmpty {
                let pid = queue.removeFirst()
                found.append(pid)
                queue += table[pid] ?? []
            }
            return found
        }
        var found: [pid_t] = []
        var queue = children(of: root) ?? []
        var seen = Set<pid_t>()
        while !queue.isEmpty {
            let pid = queue.removeFirst()
            guard seen.insert(pid).inserted else { continue }
            found.append(pid)
            queue += children(of: pid) ?? []
        }
        return found
    }

    /// The children of `pid` (of all its threads), or nil when the kernel does not list them (or `pid` is
    /// gone).
    static func children(of pid: pid_t) -> [pid_t]? {
        guard let threads = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task") else { return nil }
        var children: [pid_t] = []
        var listed = false
        for thread in threads {
            guard let text = try? String(contentsOfFile: "/proc/\(pid)/task/\(thread)/children", encoding: .utf8) else { continue }
            listed = true
            children += text.split(separator: " ").compactMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
        return listed ? children : nil
    }

    static func isDead(_ state: Substring) -> Bool { state == "Z" || state == "X" }

    /// Every process's children, from one pass over /proc.
    static func childrenByParent(includingZombies: Bool) -> [pid_t: [pid_t]] {
        var children: [pid_t: [pid_t]] = [:]
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for entry in entries {
            guard let pid = pid_t(entry), let (parent, state) = parentAndState(of: pid) else { continue }
            if !includingZombies, isDead(state) { continue }
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

    /// Whether `pid` exists and is not a zombie.
    public static func isAlive(_ pid: pid_t) -> Bool {
        statFields(of: pid)?.first.map { !isDead($0) } ?? false
    }

    /// The process group of `pid` (from /proc), or nil.
    public static func processGroup(of pid: pid_t) -> pid_t? {
        guard let fields = statFields(of: pid), fields.count > 2 else { return nil }
        return pid_t(fields[2])
    }

    /// Whether the command line of `pid` has `--job JOB`.
    static func names(_ jobID: String, _ pid: pid_t) -> Bool {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
        let arguments = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        return zip(arguments, arguments.dropFirst()).contains { $0 == "--job" && $1 == jobID }
    }
}
