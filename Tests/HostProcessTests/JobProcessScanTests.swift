import Foundation
import Testing
@testable import HostProcess

/// The process-subtree walk used to sweep a job's leftovers, against real processes.
@Suite struct JobProcessScanTests {
    @Test func findsGrandchildrenAndAgentsNamedForTheJobOnly() throws {
        let job = "scan-test-\(getpid())"
        // sh (child) → sh (grandchild, its command line names the job, blocked opening a FIFO: it never forks);
        // a second child that does not name it.
        let fifo = NSTemporaryDirectory() + "scan-fifo-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        #expect(mkfifo(fifo, 0o600) == 0)
        defer { unlink(fifo) }
        let named = try HostCommand("/bin/sh", ["-c", "/bin/sh -c 'read x < \(fifo)' agent --job \(job) & wait"]).start()
        let other = try HostCommand("/bin/sleep", ["30"]).start()
        defer {
            for pid in JobProcessScan.descendants(of: named.pid).reversed() { kill(pid, SIGKILL) }
            for process in [named, other] { process.signalGroup(SIGKILL); _ = process.wait() }
        }
        var found: [pid_t] = []
        let deadline = Date().addingTimeInterval(10)
        while found.isEmpty, Date() < deadline {
            found = JobProcessScan.agentProcesses(of: job, below: getpid())
            if found.isEmpty { usleep(10_000) }
        }
        #expect(found.count == 1)
        let all = JobProcessScan.descendants(of: getpid())
        #expect(all.contains(named.pid) && all.contains(other.pid))
        #expect(found.allSatisfy { all.contains($0) && $0 != named.pid && $0 != other.pid })
        // Parents come before their children.
        if let child = all.firstIndex(of: named.pid), let grandchild = found.first.flatMap(all.firstIndex(of:)) {
            #expect(child < grandchild)
        }
        #expect(JobProcessScan.hasChildren(getpid()))
    }

    @Test func theSubtreeWalkAgreesWithAFullPassOverProc() throws {
        let process = try HostCommand("/bin/sh", ["-c", "sleep 30 & sleep 30 & wait"]).start()
        defer { process.signalGroup(SIGKILL); _ = process.wait() }
        usleep(200_000)
        let table = JobProcessScan.childrenByParent(includingZombies: true)
        var expected: Set<pid_t> = []
        var queue = table[process.pid] ?? []
        while let pid = queue.popLast() { expected.insert(pid); queue += table[pid] ?? [] }
        #expect(expected.count == 2)
        #expect(Set(JobProcessScan.subtree(of: process.pid)) == expected)
        #expect(JobProcessScan.children(of: process.pid)?.count == 2)
        for pid in JobProcessScan.children(of: process.pid) ?? [] { kill(pid, SIGKILL) }
    }
}
