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
        let named = Process()
        named.executableURL = URL(fileURLWithPath: "/bin/sh")
        named.arguments = ["-c", "/bin/sh -c 'read x < \(fifo)' agent --job \(job) & wait"]
        let other = Process()
        other.executableURL = URL(fileURLWithPath: "/bin/sleep")
        other.arguments = ["30"]
        try named.run()
        try other.run()
        defer {
            for pid in JobProcessScan.descendants(of: named.processIdentifier).reversed() { kill(pid, SIGKILL) }
            for process in [named, other] { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
        }
        var found: [pid_t] = []
        let deadline = Date().addingTimeInterval(10)
        while found.isEmpty, Date() < deadline {
            found = JobProcessScan.agentProcesses(of: job, below: getpid())
            if found.isEmpty { usleep(10_000) }
        }
        #expect(found.count == 1)
        let all = JobProcessScan.descendants(of: getpid())
        #expect(all.contains(named.processIdentifier) && all.contains(other.processIdentifier))
        #expect(found.allSatisfy { all.contains($0) && $0 != named.processIdentifier && $0 != other.processIdentifier })
        // Parents come before their children.
        if let child = all.firstIndex(of: named.processIdentifier), let grandchild = found.first.flatMap(all.firstIndex(of:)) {
            #expect(child < grandchild)
        }
        #expect(JobProcessScan.hasChildren(getpid()))
    }

    @Test func theSubtreeWalkAgreesWithAFullPassOverProc() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "sleep 30 & sleep 30 & wait"]
        try process.run()
        defer { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
        usleep(200_000)
        let table = JobProcessScan.childrenByParent(includingZombies: true)
        var expected: Set<pid_t> = []
        var queue = table[process.processIdentifier] ?? []
        while let pid = queue.popLast() { expected.insert(pid); queue += table[pid] ?? [] }
        #expect(expected.count == 2)
        #expect(Set(JobProcessScan.subtree(of: process.processIdentifier)) == expected)
        #expect(JobProcessScan.children(of: process.processIdentifier)?.count == 2)
        for pid in JobProcessScan.children(of: process.processIdentifier) ?? [] { kill(pid, SIGKILL) }
    }
}
