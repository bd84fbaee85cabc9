import Foundation
import Testing

/// `vhpc run` under a real Slurm (scripts/slurm-cluster.sh: slurmctld + one slurmd per network namespace,
/// nodes n1…n3 with their own addresses and hostnames): agents started as one job step, tasks on the nodes.
@Suite(.serialized, .timeLimit(.minutes(4))) struct SlurmRunTests {
    init() throws { try SlurmCluster.start() }

    @Test func runsInsideSallocOnTheAllocatedNodes() throws {
        let result = try SlurmCluster.inAllocation(
            """
            echo "hostnames: $(scontrol show hostnames "$SLURM_JOB_NODELIST" | tr '\\n' ' ')"
            "$VHPC" run -l --ntasks-per-node=2 -- sh -c 'echo "on $(hostname)"'; echo "vhpc exit $?"
            echo "steps left: $(squeue -h -s -j "$SLURM_JOB_ID" | wc -l)"
            """)
        #expect(result.status == 0, "stdout: \(result.stdout)\nstderr: \(result.stderr)")
        #expect(result.stdout.contains("hostnames: n1 n2 n3 "), "\(result.stdout)")
        #expect(result.stdout.contains("vhpc exit 0"), "\(result.stdout)\nstderr: \(result.stderr)")
        let lines = Set(result.stdout.split(separator: "\n").map(String.init))
        // Block layout: tasks 0-1 on the first node, 2-3 on the second, 4-5 on the third.
        for task in 0..<6 {
            let expected = "\(task): on n\(task / 2 + 1)"
            #expect(lines.contains(expected), "missing '\(expected)' in:\n\(result.stdout)\nstderr: \(result.stderr)")
        }
        // The launcher was chosen from the environment, and said so once.
        #expect(result.stderr.components(separatedBy: "using --launcher slurm").count == 2, "\(result.stderr)")
        #expect(result.stdout.contains("steps left: 0"), "\(result.stdout)")
        #expect(SlurmCluster.agentProcesses().isEmpty)
    }

    @Test func runsInsideAnSbatchScript() throws {
        let directory = CLI.stateDirectory + "/slurm-batch-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let result = try CLI.run(
            program: "/usr/bin/sbatch",
            ["--wait", "--output=\(directory)/out-%j.txt", CLI.repositoryRoot + "/examples/slurm-batch.sh"],
            environment: ["VHPC": CLI.vhpc], timeout: .seconds(120))
        #expect(result.status == 0, "stdout: \(result.stdout)\nstderr: \(result.stderr)")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory)
        let output = try files.map { try String(contentsOfFile: directory + "/" + $0, encoding: .utf8) }.joined()
        #expect(output.contains("allocation: n[1-3] (n1 n2 n3 )"), "\(output)")
        for task in 0..<6 {
            #expect(output.contains("\(task): task \(task) of 6 on n\(task / 2 + 1)"), "\(output)")
        }
    }

    @Test func badAllocationInputIsOneClearError() throws {
        let tooMany = try SlurmCluster.inAllocation(nodes: 2, "\"$VHPC\" run -N 3 -- true")
        #expect(tooMany.status != 0)
        #expect(tooMany.stderr.contains("vhpc: -N 3 is more than Slurm job "), "\(tooMany.stderr)")
        #expect(tooMany.stderr.contains("has 2 nodes"), "\(tooMany.stderr)")
        let outside = try SlurmCluster.inAllocation(nodes: 1, "\"$VHPC\" run -w n9 -- true")
        #expect(outside.status != 0)
        #expect(outside.stderr.contains("-w: host 'n9' is not in Slurm job "), "\(outside.stderr)")
        let malformed = try CLI.run(["run", "--", "true"], environment: ["SLURM_JOB_ID": "77", "SLURM_JOB_NODELIST": "n[1-"])
        #expect(malformed.status != 0)
        #expect(malformed.stderr.contains("Slurm job 77: cannot read SLURM_JOB_NODELIST='n[1-'"), "\(malformed.stderr)")
        let empty = try CLI.run(["run", "--", "true"], environment: ["SLURM_JOB_ID": "77", "SLURM_JOB_NODELIST": ""])
        #expect(empty.stderr.contains("SLURM_JOB_NODELIST is empty"), "\(empty.stderr)")
        let noSrun = try CLI.run(["run", "--", "true"], environment: ["SLURM_JOB_ID": "77", "SLURM_JOB_NODELIST": "n1", "PATH": "/nonexistent"])
        #expect(noSrun.status != 0)
        #expect(noSrun.stderr.contains("srun not found in PATH"), "\(noSrun.stderr)")
    }

    /// The agents' step starts while the front-end looks for its own address; when there is none, the step is
    /// withdrawn: one error line, no srun or agent noise, no step left.
    @Test func noAddressTowardsTheNodesWithdrawsTheEarlyStep() throws {
        let bin = CLI.stateDirectory + "/slurm-noroute-\(getpid())"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: bin) }
        // A NodeAddr on a network this machine has no route to (IPv6 documentation prefix).
        try "#!/bin/sh\necho 'NodeName=n1 Arch=x86_64 NodeAddr=2001:db8::1 NodeHostName=n1'\n"
            .write(toFile: bin + "/scontrol", atomically: true, encoding: .utf8)
        chmod(bin + "/scontrol", 0o755)
        let result = try SlurmCluster.inAllocation(
            """
            PATH="\(bin):$PATH" "$VHPC" run -- true; echo "vhpc exit $?"
            echo "steps left: $(squeue -h -s -j "$SLURM_JOB_ID" | wc -l)"
            """)
        #expect(result.stdout.contains("vhpc exit 1"), "\(result.stdout)\nstderr: \(result.stderr)")
        let errors = result.stderr.split(separator: "\n").filter { !$0.hasPrefix("salloc:") && !$0.contains("using --launcher slurm") }
        #expect(errors == ["vhpc: cannot find an address of this machine that reaches node n1 (2001:db8::1); give one with --frontend-address"],
                "\(result.stderr)")
        #expect(result.stdout.contains("steps left: 0"), "\(result.stdout)")
        #expect(SlurmCluster.agentProcesses().isEmpty)
    }

    @Test func outsideAnAllocationVhpcAllocatesAndReleases() throws {
        let result = try CLI.run(["run", "--launcher", "slurm", "-N", "2", "--time", "5", "-l", "--", "hostname"], timeout: .seconds(120))
        #expect(result.status == 0, "stdout: \(result.stdout)\nstderr: \(result.stderr)")
        let lines = Set(result.stdout.split(separator: "\n").map(String.init))
        #expect(lines.count == 2 && lines.allSatisfy { $0.hasPrefix("0: n") || $0.hasPrefix("1: n") }, "\(result.stdout)")
        let job = result.stderr.split(separator: "\n").first { $0.contains("Granted job allocation") }
            .flatMap { $0.split(separator: " ").last.map(String.init) }
        let id = try #require(job, "\(result.stderr)")
        #expect(try SlurmCluster.steps(ofJob: id).isEmpty, "allocation \(id) not released")
    }

    @Test func aKilledAgentIsDetectedAndTheJobContinuesWithoutLeftovers() throws {
        // The task on n2 kills its node's agent (its parent) with SIGKILL.
        let result = try SlurmCluster.inAllocation(
            """
            "$VHPC" run -l --mpi none --on-failure continue --heartbeat 500ms -- sh -c \\
              'if [ "$(hostname)" = n2 ]; then kill -9 $PPID; sleep 30; fi; sleep 2; echo "done on $(hostname)"'
            echo "vhpc exit $?"
            sleep 1; echo "steps left: $(squeue -h -s -j "$SLURM_JOB_ID" | wc -l)"
            """)
        #expect(result.stdout.contains("0: done on n1"), "\(result.stdout)\nstderr: \(result.stderr)")
        #expect(result.stdout.contains("2: done on n3"), "\(result.stdout)\nstderr: \(result.stderr)")
        #expect(!result.stdout.contains("done on n2"))
        #expect(result.stdout.contains("vhpc exit 1") || result.stdout.contains("vhpc exit 137"), "\(result.stdout)")
        #expect(result.stderr.contains("agent 2"), "\(result.stderr)")
        #expect(result.stdout.contains("steps left: 0"), "\(result.stdout)")
        #expect(SlurmCluster.agentProcesses().isEmpty, "\(SlurmCluster.agentProcesses())")
        let survivors = try sleepers()
        #expect(survivors.isEmpty, "tasks survived: \(survivors)")
    }

    @Test func scancelOfTheAgentsStepEndsTheJobWithoutLeftovers() throws {
        let result = try SlurmCluster.inAllocation(
            """
            "$VHPC" run --mpi none -- sleep 47 & pid=$!
            i=0; until [ -n "$(squeue -h -s -j "$SLURM_JOB_ID" -o %i -n vhpc-agents)" ] || [ $i -gt 100 ]; do sleep 0.1; i=$((i+1)); done
            sleep 2; step=$(squeue -h -s -j "$SLURM_JOB_ID" -o %i -n vhpc-agents); echo "cancelling $step"; scancel "$step"
            wait $pid; echo "vhpc exit $?"
            sleep 1; echo "steps left: $(squeue -h -s -j "$SLURM_JOB_ID" | wc -l)"
            """)
        #expect(result.stdout.contains("cancelling "), "\(result.stdout)")
        #expect(!result.stdout.contains("vhpc exit 0"), "\(result.stdout)\nstderr: \(result.stderr)")
        #expect(result.stdout.contains("vhpc exit"), "\(result.stdout)")
        #expect(result.stderr.contains("agent 1") || result.stderr.contains("agent 2"), "\(result.stderr)")
        #expect(result.stdout.contains("steps left: 0"), "\(result.stdout)")
        #expect(SlurmCluster.agentProcesses().isEmpty)
        let survivors = try sleepers()
        #expect(survivors.isEmpty, "tasks survived: \(survivors)")
    }

    /// The allocation's time limit runs out mid-job: Slurm cancels the agents' step (slurmctld checks limits
    /// about every 30 s, hence the slack), the front-end sees its agents go, fails the job, and nothing is left.
    @Test func theAllocationsTimeLimitEndsTheJobWithoutLeftovers() throws {
        let clock = ContinuousClock()
        let start = clock.now
        let result = try CLI.run(
            program: "/usr/bin/salloc", ["--nodes=2", "--time=0:10", "/bin/sh", "-c", "\"$VHPC\" run --mpi none -- sleep 293; echo \"vhpc exit $?\""],
            environment: ["VHPC": CLI.vhpc], timeout: .seconds(180))
        #expect(clock.now - start < .seconds(170))
        #expect(result.stdout.contains("vhpc exit"), "\(result.stdout)\nstderr: \(result.stderr)")
        #expect(!result.stdout.contains("vhpc exit 0"), "\(result.stdout)\nstderr: \(result.stderr)")
        #expect(result.stderr.contains("TIME LIMIT"), "Slurm says why: \(result.stderr)")
        #expect(result.stderr.contains("vhpc: agent 1") || result.stderr.contains("vhpc: agent 2"), "\(result.stderr)")
        #expect(SlurmCluster.agentProcesses().isEmpty)
        #expect(SlurmCluster.processes { $0 == "sleep 293" }.isEmpty, "tasks survived")
    }

    /// `--vse` on 2 Slurm nodes: each node's agent boots its VM, and the VMs share the job network (the
    /// nodes' switches tunnel over the addresses the step agents advertised).
    @Test func vmsOnTwoSlurmNodesShareOneJobNetwork() throws {
        let build = try CLI.run(["vse", "build", "-q", "examples/tiny.yaml"])
        #expect(build.status == 0, "\(build.stderr)")
        let result = try SlurmCluster.inAllocation(
            nodes: 2,
            """
            "$VHPC" run --vse tiny --vms-per-node 1 -l -- sh -c \
              'if [ $VHPC_RANK = 0 ]; then sleep 15; else for i in 1 2 3 4 5 6 7 8 9 10; do ping -c 1 -W 1 tiny-r0 && break; done; fi; echo "rank $VHPC_RANK node $VHPC_NODE vm $(hostname)"'
            echo "vhpc exit $?"
            """, timeout: .seconds(180))
        #expect(result.stdout.contains("vhpc exit 0"), "stdout: \(result.stdout)\nstderr: \(result.stderr)")
        #expect(result.stdout.contains("1: 64 bytes from 10.77.0.1"), "\(result.stdout)\nstderr: \(result.stderr)")
        #expect(result.stdout.contains("0: rank 0 node 0 vm tiny-r0"), "\(result.stdout)")
        #expect(result.stdout.contains("1: rank 1 node 1 vm tiny-r1"), "\(result.stdout)")
        #expect(ClusterRunTests.leftoverQEMU().isEmpty)
        #expect(SlurmCluster.agentProcesses().isEmpty)
    }

    /// `sleep 30` / `sleep 47` tasks still running on this machine.
    private func sleepers() throws -> [String] {
        SlurmCluster.processes { $0 == "sleep 30" || $0 == "sleep 47" }
    }
}
