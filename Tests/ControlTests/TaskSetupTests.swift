import Testing
#if canImport(Glibc)
import Glibc
#endif

@testable import Control

/// `--export`, `--chdir`, `--input` and the start-failure exit codes, without processes.
@Suite struct TaskSetupTests {
    let front = ["PATH": "/usr/bin:/bin", "HOME": "/root", "FOO": "1", "HOSTNAME": "login1", "PWD": "/work",
                 "VHPC_VSE_IMAGE": "x", "PMI_FD": "3", "SSH_AUTH_SOCK": "/tmp/a", "LANG": "C.UTF-8"]

    @Test func allExportsEverythingButHostOnlyVariables() throws {
        let (variables, only) = try TaskEnvironment.exported("ALL", from: front)
        #expect(!only)
        #expect(variables == ["PATH": "/usr/bin:/bin", "HOME": "/root", "FOO": "1", "LANG": "C.UTF-8"])
    }

    @Test func listsExportOnlyThoseAndAllAddsToEverything() throws {
        let listed = try TaskEnvironment.exported("FOO,BAR=2,MISSING", from: front)
        #expect(listed.only)
        #expect(listed.variables == ["FOO": "1", "BAR": "2"])
        let none = try TaskEnvironment.exported("NONE", from: front)
        #expect(none.only && none.variables.isEmpty)
        let added = try TaskEnvironment.exported("ALL,BAR=x", from: front)
        #expect(!added.only && added.variables["BAR"] == "x" && added.variables["FOO"] == "1")
    }

    @Test(arguments: ["1X", "A-B", "VHPC_RANK=3", "=3"])
    func badExportsAreRefused(spec: String) {
        #expect(throws: TaskEnvironment.ExportError.self) { try TaskEnvironment.exported(spec, from: front) }
    }

    @Test func startFailuresUseTheShellsExitCodes() {
        #expect(TaskStartFailure.lookup("no-such-program-xyz", path: "/usr/bin:/bin").status == 127)
        let plain = "/tmp/vhpc-t15-plain-\(getpid())"
        #expect(creat(plain, 0o644) >= 0)
        defer { unlink(plain) }
        #expect(TaskStartFailure.lookup(plain, path: nil) == .notExecutable(plain, reason: "permission denied"))
        #expect(TaskStartFailure.lookup("/tmp", path: nil).status == 126)
        #expect(TaskStartFailure.guest("foo", reason: "foo: No such file or directory") == .notFound("foo"))
        #expect(TaskStartFailure.guest("foo", reason: "foo: Permission denied") == .notExecutable("foo", reason: "Permission denied"))
        #expect(TaskStartFailure.guest("foo", reason: "cannot change to directory /x: No such file or directory")
            == .badDirectory("/x", reason: "No such file or directory"))
    }

    @Test func stdinTargets() {
        #expect(StdinTarget("all") == .all && StdinTarget("NONE") == StdinTarget.none && StdinTarget("3") == .rank(3))
        #expect(StdinTarget("-1") == nil && StdinTarget("x") == nil)
        #expect(StdinTarget.rank(2).includes(2) && !StdinTarget.rank(2).includes(0) && StdinTarget.all.includes(9))
    }
}

@Suite struct JobCapacityTests {
    let host = JobCapacity.Host(cores: 2, availableMemory: 20 << 30, processLimit: 190_000)

    @Test func hundredThousandLocalNodesAreRefused() {
        let demand = JobCapacity.Demand(nodes: 100_000, tasks: 100_000, agentProcesses: 391, nodesShareHost: true)
        let problem = JobCapacity.check(demand, host: host)
        #expect(problem?.hasPrefix("-N 100000 with 100000 tasks needs about") == true, "\(problem ?? "nil")")
    }

    @Test func ordinaryJobsFit() {
        #expect(JobCapacity.check(.init(nodes: 1024, tasks: 1024, agentProcesses: 5, nodesShareHost: true), host: host) == nil)
        var vms = JobCapacity.Demand(nodes: 2, tasks: 4, agentProcesses: 2, nodesShareHost: true)
        vms.vmsPerNode = 2
        vms.vmMemory = 256 << 20
        #expect(JobCapacity.check(vms, host: host) == nil)
    }

    @Test func tooManyVCPUsPerNodeNeedOvercommit() {
        var demand = JobCapacity.Demand(nodes: 1, tasks: 64, agentProcesses: 1, nodesShareHost: true)
        demand.vmsPerNode = 64
        demand.vmMemory = 128 << 20
        #expect(JobCapacity.check(demand, host: host)?.contains("need 64 cores per node; this host has 2") == true)
        demand.overcommit = true
        #expect(JobCapacity.check(demand, host: host) == nil)
        demand.vmMemory = 1 << 30
        #expect(JobCapacity.check(demand, host: host)?.contains("64 VMs") == true)
    }
}
