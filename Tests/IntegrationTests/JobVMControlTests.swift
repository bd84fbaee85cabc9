import Foundation
import Testing

/// A `vhpc run --vse` job's VMs are V2M VMs: `vhpc vm list` shows them with job and rank, and
/// `vm pause`/`vm resume` work on a running job's VM while the job goes on.
@Suite(.serialized) struct JobVMControlTests {
    struct Listed: Decodable { var vms: [VM] }
    struct VM: Decodable { var name: String; var state: String; var job: String?; var rank: Int?; var pid: Int32? }

    static func list() -> [VM] {
        guard let result = try? CLI.run(["vm", "list", "--json"]) else { return [] }
        return (try? JSONDecoder().decode(Listed.self, from: Data(result.stdout.utf8)))?.vms ?? []
    }

    @Test func aJobVMIsListedPausedAndResumedWhileTheJobKeepsGoing() async throws {
        let build = try CLI.run(["vse", "build", "-q", "examples/tiny.yaml"])
        #expect(build.status == 0, "\(build.stderr)")
        // Each task counts for about 8 s of wall time; rank 1's VM is paused in the middle.
        let process = try CLI.command(CLI.vhpc, ["run", "--vse", "tiny", "-N", "1", "--vms-per-node", "2", "-l", "--",
                                                 "sh", "-c", "i=0; while [ $i -lt 40 ]; do i=$((i+1)); sleep 0.2; done; echo done $VHPC_RANK $i"]).start()
        defer { process.signal(SIGINT) }
        var jobVMs: [VM] = []
        for _ in 0..<600 where jobVMs.count < 2 {
            try await Task.sleep(for: .milliseconds(100))
            jobVMs = Self.list().filter { $0.job != nil && $0.state == "running" }
        }
        try #require(jobVMs.count == 2, "the job's VMs never showed up in vm list: \(Self.list())")
        #expect(Set(jobVMs.compactMap(\.rank)) == [0, 1])
        let victim = try #require(jobVMs.first { $0.rank == 1 })
        let migrate = try CLI.run(["vm", "migrate", victim.name])
        #expect(migrate.status != 0)
        #expect(migrate.stderr.contains("a job's VM cannot be migrated yet"), "\(migrate.stderr)")
        let pause = try CLI.run(["vm", "pause", victim.name])
        #expect(pause.status == 0, "\(pause.stderr)")
        #expect(Self.list().first { $0.name == victim.name }?.state == "paused")
        try await Task.sleep(for: .seconds(3))
        let resume = try CLI.run(["vm", "resume", victim.name])
        #expect(resume.status == 0, "\(resume.stderr)")
        let finished = process.wait()
        let output = finished.stdoutText
        #expect(finished.status == 0)
        #expect(output.contains("0: done 0 40") && output.contains("1: done 1 40"), "\(output)")
        #expect(!Self.list().contains { $0.job == victim.job }, "the job's VM records outlived it")
    }

    /// Issue 20, finding 6: a job VM whose QEMU is stopped (not paused through V2M) hung the job forever. The
    /// guest watchdog now notices the guest has stopped answering while QEMU is not paused, kills the VM and
    /// fails the task.
    @Test func aJobVMWhoseQEMUIsStoppedFailsItsTaskInsteadOfHanging() async throws {
        let build = try CLI.run(["vse", "build", "-q", "examples/tiny.yaml"])
        #expect(build.status == 0, "\(build.stderr)")
        let process = try CLI.command(CLI.vhpc, ["run", "--vse", "tiny", "-N", "1", "--vms-per-node", "1", "--", "sleep", "120"]).start()
        defer { process.signal(SIGKILL) }
        var vm: VM?
        for _ in 0..<600 where vm == nil {
            try await Task.sleep(for: .milliseconds(100))
            vm = Self.list().first { $0.job != nil && $0.state == "running" && $0.pid != nil }
        }
        let qemu = try #require(vm?.pid, "the job's VM never showed up")
        defer { kill(qemu, SIGCONT); kill(qemu, SIGKILL) }
        kill(qemu, SIGSTOP)
        let stopped = ContinuousClock.now
        while process.isRunning, ContinuousClock.now - stopped < .seconds(90) { try await Task.sleep(for: .milliseconds(100)) }
        #expect(!process.isRunning, "the job still runs 90 s after its VM's QEMU was stopped")
        process.signal(SIGKILL)
        let finished = process.wait()
        let stderr = finished.stderrText
        #expect(finished.status != 0)
        #expect(stderr.contains("has not answered"), "\(stderr)")
    }
}
