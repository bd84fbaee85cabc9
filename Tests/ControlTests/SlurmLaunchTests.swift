import Launch
import Testing

@Suite struct SlurmLaunchTests {
    let env = ["SLURM_JOB_ID": "42", "SLURM_JOB_NODELIST": "n[1-3]"]

    @Test func allocationComesFromTheEnvironment() throws {
        #expect(try SlurmAllocation.current([:]) == nil)
        let allocation = try #require(try SlurmAllocation.current(env))
        #expect(allocation.jobID == "42")
        #expect(allocation.nodes == ["n1", "n2", "n3"])
        #expect(try allocation.select(nodes: nil, hostlist: nil) == ["n1", "n2", "n3"])
        #expect(try allocation.select(nodes: 2, hostlist: nil) == ["n1", "n2"])
        #expect(try allocation.select(nodes: nil, hostlist: ["n3", "n1"]) == ["n3", "n1"])
    }

    @Test func badAllocationsAreClearErrors() throws {
        let allocation = try #require(try SlurmAllocation.current(env))
        #expect(throws: SlurmAllocation.Problem(description: "-N 4 is more than Slurm job 42 has 3 nodes (n[1-3])")) {
            _ = try allocation.select(nodes: 4, hostlist: nil)
        }
        #expect(throws: SlurmAllocation.Problem(description: "-w: host 'n7' is not in Slurm job 42's allocation (n[1-3])")) {
            _ = try allocation.select(nodes: nil, hostlist: ["n1", "n7"])
        }
        #expect(throws: SlurmAllocation.Problem.self) { _ = try SlurmAllocation.current(["SLURM_JOB_ID": "42", "SLURM_JOB_NODELIST": ""]) }
        #expect(throws: SlurmAllocation.Problem.self) { _ = try SlurmAllocation.current(["SLURM_JOB_ID": "42"]) }
        #expect(throws: SlurmAllocation.Problem.self) { _ = try SlurmAllocation.current(["SLURM_JOB_ID": "42", "SLURM_JOB_NODELIST": "n[1-"]) }
    }

    @Test func stepOptionsFollowTheSlurmVersionAndFailurePolicy() {
        #expect(SrunCommand.Version.parse("slurm-wlm 22.05.8\n") == .init(major: 22, minor: 5))
        #expect(SrunCommand.Version.parse("slurm 23.11.4") == .init(major: 23, minor: 11))
        #expect(SrunCommand.Version.parse("nothing") == nil)
        let old = SrunCommand.stepArguments(hosts: ["n1", "n2"], version: .init(major: 22, minor: 5), killOnBadExit: false)
        #expect(old == ["--nodes=2", "--ntasks=2", "--ntasks-per-node=1", "--nodelist=n1,n2", "--mpi=none", "--cpu-bind=none",
                        "--kill-on-bad-exit=0", "--input=all", "--job-name=vhpc-agents", "--overlap"])
        let new = SrunCommand.stepArguments(hosts: ["n1"], version: .init(major: 23, minor: 11), killOnBadExit: true)
        #expect(new.contains("--external-launcher") && !new.contains("--overlap") && new.contains("--kill-on-bad-exit=1"))
        #expect(!SrunCommand.stepArguments(hosts: ["n1"], version: .init(major: 22, minor: 5), killOnBadExit: true, binds: false)
            .contains("--cpu-bind=none"))
        #expect(SrunCommand.taskPluginBinds(configuration: "ClusterName=x\nTaskPlugin=task/none # no binding\n") == false)
        #expect(SrunCommand.taskPluginBinds(configuration: "TaskPlugin=task/affinity,task/cgroup\n") == true)
        #expect(SrunCommand.taskPluginBinds(configuration: "# TaskPlugin=task/none\n") == true)
    }

    @Test func nodeAddressFromScontrol() {
        #expect(SlurmNodeAddress.parse("NodeName=n1 Arch=x86_64 CoresPerSocket=1 NodeAddr=10.250.13.11 NodeHostName=n1 Version=22.05.8") == "10.250.13.11")
        #expect(SlurmNodeAddress.parse("NodeName=n1 Arch=x86_64") == nil)
    }
}

@Suite struct PBSAllocationTests {
    @Test func nodefileLinesAreSlots() throws {
        let env = ["PBS_JOBID": "9.srv", "PBS_NODEFILE": "/nf"]
        let allocation = try #require(try PBSAllocation.current(env) { _ in "a\na\nb\nc\nc\nc\n" })
        #expect(allocation.hosts == ["a", "b", "c"])
        #expect(allocation.slots == ["a": 2, "b": 1, "c": 3])
        #expect(try allocation.select(nodes: 2, hostlist: nil) == ["a", "b"])
        #expect(throws: PBSAllocation.Problem(description: "-N 4 is more than PBS job 9.srv has hosts (3 in /nf)")) {
            _ = try allocation.select(nodes: 4, hostlist: nil)
        }
        #expect(throws: PBSAllocation.Problem(description: "-w: host 'z' is not in PBS job 9.srv's nodefile /nf")) {
            _ = try allocation.select(nodes: nil, hostlist: ["z"])
        }
        #expect(try PBSAllocation.current([:]) == nil)
        #expect(throws: PBSAllocation.Problem(description: "PBS job 9.srv: PBS_NODEFILE /nf names no host")) {
            _ = try PBSAllocation.current(env) { _ in "\n" }
        }
    }
}
