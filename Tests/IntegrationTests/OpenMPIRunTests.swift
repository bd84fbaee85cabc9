import Foundation
import Testing

/// Open MPI programs (Debian's Open MPI 4.1 over its external OpenPMIx 4.2, compiled here with
/// `mpicc.openmpi`) started by `vhpc run` alone: no `mpirun`, no `prted`; every task's PMIx client talks to its
/// node agent's PMIx server, whose fences cross vhpc's tree. Also the PMI-1 server's handling of bad clients.
@Suite(.serialized) struct OpenMPIRunTests {
    /// `tests/fixtures/mpi/NAME.c` built with `mpicc.openmpi` into a temporary directory.
    static func build(_ name: String) -> String? {
        let directory = NSTemporaryDirectory() + "vhpc-ompi-\(getpid())"
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let output = directory + "/" + name
        if FileManager.default.isExecutableFile(atPath: output) { return output }
        let compile = try? CLI.run(program: "/usr/bin/mpicc.openmpi", ["-O2", "-o", output, CLI.repositoryRoot + "/tests/fixtures/mpi/\(name).c"])
        return compile?.status == 0 ? output : nil
    }

    static let environment = ["VHPC_JOB_NAME": ControlRunTests.stateDirectory(),
                              "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"]

    @Test(arguments: [(1, 1), (1, 4), (2, 4), (4, 8), (8, 8)])
    func allreduceCompletesAcrossNodes(nodes: Int, tasks: Int) throws {
        let program = try #require(Self.build("allreduce"), "mpicc.openmpi could not build the test program (package libopenmpi-dev)")
        // A temporary directory of the job's own: the node directories must be gone from it afterwards.
        let tmpdir = NSTemporaryDirectory() + "vhpc-ompi-tmp-\(getpid())-\(nodes)-\(tasks)"
        try FileManager.default.createDirectory(atPath: tmpdir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: tmpdir) }
        let result = try CLI.run(["run", "-N", "\(nodes)", "-n", "\(tasks)", "-l", "--", program],
                                 environment: Self.environment.merging(["TMPDIR": tmpdir]) { _, new in new }, timeout: .seconds(120))
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let expected = tasks * (tasks + 1) / 2
        for rank in 0..<tasks {
            #expect(result.stdout.contains("\(rank): rank \(rank) of \(tasks) on "), "\(result.stdout)")
        }
        #expect(result.stdout.components(separatedBy: "allreduce sum = \(expected) (expected \(expected))").count - 1 == tasks,
                "\(result.stdout)")
        let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: tmpdir)) ?? []
        #expect(leftovers.isEmpty, "node directories left behind: \(leftovers)")
    }

    /// As mpirun does, a node with more ranks than cores tells Open MPI so (`OMPI_MCA_mpi_oversubscribe=1`: a
    /// waiting rank yields its core); one with fewer says 0; a value the user exports wins.
    @Test func oversubscribedNodesAreToldSo() throws {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let script = "echo over=$OMPI_MCA_mpi_oversubscribe"
        let over = try CLI.run(["run", "-N", "1", "-n", "\(cores + 1)", "--", "sh", "-c", script], environment: Self.environment, timeout: .seconds(60))
        #expect(over.status == 0 && over.stdout.split(separator: "\n").allSatisfy { $0 == "over=1" }, "\(over.stdout)\n\(over.stderr)")
        let under = try CLI.run(["run", "-N", "1", "-n", "1", "--", "sh", "-c", script], environment: Self.environment, timeout: .seconds(60))
        #expect(under.stdout == "over=0\n", "\(under.stdout)\n\(under.stderr)")
        let chosen = try CLI.run(["run", "-N", "1", "-n", "\(cores + 1)", "--export", "ALL,OMPI_MCA_mpi_oversubscribe=0", "--", "sh", "-c", script],
                                 environment: Self.environment, timeout: .seconds(60))
        #expect(chosen.stdout.split(separator: "\n").allSatisfy { $0 == "over=0" }, "\(chosen.stdout)\n\(chosen.stderr)")
    }

    /// On a node without fabric hardware, Open MPI's ranks skip the components that poll for it (libpsm2's and
    /// libinfinipath's constructors sleep ~200 ms); Debian's `mtl = ^ofi` is extended, a user's selection kept.
    @Test func ranksSkipFabricComponentsTheNodeCannotUse() throws {
        let program = try #require(Self.build("print_env"), "mpicc.openmpi could not build the test program (package libopenmpi-dev)")
        let devices = (try? FileManager.default.contentsOfDirectory(atPath: "/dev")) ?? []
        let bare = !FileManager.default.fileExists(atPath: "/sys/class/infiniband")
            && !devices.contains { name in ["hfi1", "ipath", "cxi", "kgni"].contains { name.hasPrefix($0) } }
        let given = try CLI.run(["run", "-N", "1", "-n", "2", "--", program, "OMPI_MCA_mtl"], environment: Self.environment, timeout: .seconds(60))
        #expect(given.status == 0, "\(given.stderr)")
        if bare {
            #expect(given.stdout.components(separatedBy: "OMPI_MCA_mtl=^ofi,psm,psm2\n").count - 1 == 2, "\(given.stdout)")
        } else {
            #expect(given.stdout.components(separatedBy: "OMPI_MCA_mtl=(unset)\n").count - 1 == 2, "\(given.stdout)")
        }
        let chosen = try CLI.run(["run", "-N", "1", "-n", "2", "--export", "ALL,OMPI_MCA_mtl=^ofi", "--", program, "OMPI_MCA_mtl"],
                                 environment: Self.environment, timeout: .seconds(60))
        #expect(chosen.stdout.components(separatedBy: "OMPI_MCA_mtl=^ofi\n").count - 1 == 2, "\(chosen.stdout)\n\(chosen.stderr)")
    }

    /// The node's PMIx server sets hwloc's component choices in the agent's environment for itself (they keep
    /// hwloc's PCI and GPU plug-ins out of the agent); the ranks' hwloc discovers as they would under any
    /// launcher, unless the user set the variables, and then with the user's values.
    @Test func ranksDoNotInheritTheServersOwnHwlocSettings() throws {
        let program = try #require(Self.build("print_env"), "mpicc.openmpi could not build the test program (package libopenmpi-dev)")
        let names = ["HWLOC_COMPONENTS", "HWLOC_PLUGINS_BLACKLIST"]
        // One node: its agent is hosted in the front-end, whose server starts before the tasks' environment is read.
        let served = try CLI.run(["run", "-N", "1", "-n", "2", "--", program] + names, environment: Self.environment, timeout: .seconds(60))
        #expect(served.status == 0, "\(served.stderr)")
        for name in names {
            #expect(served.stdout.components(separatedBy: "\(name)=(unset)\n").count - 1 == 2, "\(served.stdout)")
        }
        let chosen = try CLI.run(["run", "-N", "1", "-n", "2", "--", program] + names,
                                 environment: Self.environment.merging(["HWLOC_COMPONENTS": "-linuxio"]) { _, new in new }, timeout: .seconds(60))
        #expect(chosen.stdout.components(separatedBy: "HWLOC_COMPONENTS=-linuxio\n").count - 1 == 2, "\(chosen.stdout)\n\(chosen.stderr)")
        #expect(chosen.stdout.components(separatedBy: "HWLOC_PLUGINS_BLACKLIST=(unset)\n").count - 1 == 2, "\(chosen.stdout)")
    }

    @Test func mpiAbortEndsTheJobWithItsCode() throws {
        let program = try #require(Self.build("abort"))
        let clock = ContinuousClock()
        let start = clock.now
        let result = try CLI.run(["run", "-N", "2", "-n", "4", "--", program], environment: Self.environment, timeout: .seconds(60))
        #expect(result.status == 7, "stderr: \(result.stderr)")
        #expect(result.stderr.contains("rank 1 called MPI_Abort (exit code 7)"), "\(result.stderr)")
        #expect(clock.now - start < .seconds(30), "the other ranks wait in a barrier forever unless the job is ended")
    }

    @Test func aRankThatDiesBeforeTheFenceEndsTheJob() throws {
        let program = try #require(Self.build("die_in_fence"))
        let clock = ContinuousClock()
        let start = clock.now
        let result = try CLI.run(["run", "-N", "2", "-n", "4", "--", program], environment: Self.environment, timeout: .seconds(60))
        #expect(result.status == 3, "stderr: \(result.stderr)")
        #expect(result.stderr.contains("task 1 (node 0): exited with exit code 3"), "\(result.stderr)")
        #expect(clock.now - start < .seconds(30), "ranks waiting in MPI_Init's fence must not hang the job")
    }

    /// Under `--on-failure continue` nothing ends the job for the dead rank: the others, waiting in MPI_Init's
    /// fence, are released with an error (``PMIFenceLoss``) and fail on their own, for both MPIs. (The dying
    /// rank is alone on its node for Open MPI: OpenPMIx waits for every local rank before a node's part of a
    /// fence starts, see the README.)
    @Test(arguments: [("openmpi", 2), ("mpich", 4)])
    func aRankThatDiesBeforeTheFenceReleasesTheOthersWithAnErrorUnderContinue(mpi: String, tasks: Int) throws {
        let program: String
        if mpi == "openmpi" {
            program = try #require(Self.build("die_in_fence"))
        } else {
            program = NSTemporaryDirectory() + "vhpc-ompi-\(getpid())/die_in_fence.mpich"
            let compile = try CLI.run(program: "/usr/bin/mpicc.mpich", ["-o", program, CLI.repositoryRoot + "/tests/fixtures/mpi/die_in_fence.c"])
            try #require(compile.status == 0, "\(compile.stderr)")
        }
        let clock = ContinuousClock()
        let start = clock.now
        let result = try CLI.run(["run", "-N", "2", "-n", "\(tasks)", "--on-failure", "continue", "--", program],
                                 environment: Self.environment, timeout: .seconds(90))
        #expect(clock.now - start < .seconds(60), "ranks waiting in MPI_Init's fence must be released: \(result.stderr)")
        #expect(result.status != 0, "stderr: \(result.stderr)")
        #expect(result.stderr.contains("task 1 (node \(tasks == 2 ? 1 : 0)): exited with exit code 3"), "\(result.stderr)")
        for rank in (0..<tasks).filter({ $0 != 1 }) {
            #expect(result.stderr.contains("vhpc: task \(rank) ("), "rank \(rank) ended with an error: \(result.stderr)")
        }
    }

    /// Two SIGTERMs (as `timeout` sends: to the front-end, then to its process group) end the job at once,
    /// with its agents killed: the PMIx and Open MPI session files of its nodes must still go (they stayed
    /// when only a normal end swept them).
    @Test func aSecondSignalLeavesNoNodeFilesBehind() throws {
        let program = try #require(Self.build("die_in_fence"))
        let tmpdir = NSTemporaryDirectory() + "vhpc-ompi-signal-\(getpid())"
        try FileManager.default.createDirectory(atPath: tmpdir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: tmpdir) }
        // Ranks 0 and 1 share node 0: rank 0 waits in MPI_Init for rank 1, which died (see the README).
        let process = try CLI.command(CLI.vhpc, ["run", "-N", "2", "-n", "4", "--on-failure", "continue", "--", program],
                                      environment: Self.environment.merging(["TMPDIR": tmpdir]) { _, new in new }).start()
        // Until rank 0's node has its session files (Open MPI's shared-memory segment), at most 30 s.
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(30)
        func sessionFiles() -> [String] {
            ((try? FileManager.default.subpathsOfDirectory(atPath: tmpdir)) ?? []).filter { $0.contains("vader_segment") }
        }
        while sessionFiles().isEmpty, clock.now < deadline { Thread.sleep(forTimeInterval: 0.1) }
        #expect(!sessionFiles().isEmpty, "rank 0 never started")
        Thread.sleep(forTimeInterval: 1)
        process.signal(SIGTERM)
        Thread.sleep(forTimeInterval: 0.01)  // two signals sent at once may arrive as one; the job ends in ~40 ms after the first
        process.signal(SIGTERM)
        #expect(process.wait().status == 143)
        Thread.sleep(forTimeInterval: 0.5)
        let left = (try? FileManager.default.contentsOfDirectory(atPath: tmpdir)) ?? []
        #expect(left.isEmpty, "node files left behind: \(left)")
    }

    /// The Open MPI program without a PMIx server (`--mpi pmi1`) initialises MPI as a singleton: vhpc says so
    /// and fails the job instead of passing 2 one-rank results off as a 2-rank job.
    @Test func aSingletonRankIsCaughtAndFailsTheJob() throws {
        let program = try #require(Self.build("allreduce"))
        let result = try CLI.run(["run", "-N", "2", "--mpi", "pmi1", "--", program], environment: Self.environment, timeout: .seconds(60))
        #expect(result.status == 1, "stderr: \(result.stderr)")
        #expect(result.stderr.contains("ran as an MPI singleton: it exited without contacting the node's PMI-1 (--mpi pmi1; Open MPI needs --mpi pmix or auto) server, so its MPI_COMM_WORLD had 1 rank instead of 2"),
                "\(result.stderr)")
    }

    @Test func aMalformedPMILineFailsItsTaskAndTheOthersAreServed() throws {
        let script = """
            if [ "$PMI_RANK" = 1 ]; then printf 'hello there\\n' >&3; read -r x <&3; exit 0; fi
            printf 'cmd=get_maxes\\n' >&3; read -r line <&3; echo "served: $line"
            """
        let result = try CLI.run(["run", "-N", "2", "--on-failure", "continue", "--", "sh", "-c", script],
                                 environment: Self.environment, timeout: .seconds(60))
        #expect(result.status == 1, "stderr: \(result.stderr)")
        #expect(result.stderr.contains("rank 1: malformed PMI-1 line (no cmd=): hello there"), "\(result.stderr)")
        #expect(result.stdout.contains("served: cmd=maxes kvsname_max=256 keylen_max=64 vallen_max=1024 rc=0"), "\(result.stdout)")
    }

    @Test func anOversizedPutFailsItsTaskNamingTheKey() throws {
        let script = """
            if [ "$PMI_RANK" = 0 ]; then v=$(head -c 2000 /dev/zero | tr '\\0' v); printf 'cmd=put kvsname=k key=big value=%s\\n' "$v" >&3; read -r x <&3; fi
            """
        let result = try CLI.run(["run", "-N", "1", "-n", "2", "--", "sh", "-c", script], environment: Self.environment, timeout: .seconds(60))
        #expect(result.status == 1, "stderr: \(result.stderr)")
        #expect(result.stderr.contains("rank 0: PMI-1 put of key 'big' refused: key of 3 bytes (limit 64), value of 2000 bytes (limit 1024)"),
                "\(result.stderr)")
    }
    /// A Debian VSE with `openmpi-bin` and the test programs (built here with `mpicc.openmpi`: Debian 12 on both
    /// sides, the same Open MPI 4.1.4 and OpenPMIx 4.2.2); one image for every VM test below (cached by content).
    static func vmSpec() throws -> String {
        let allreduce = try #require(build("allreduce"), "mpicc.openmpi could not build the test program (package libopenmpi-dev)")
        _ = try #require(build("abort"))
        _ = try #require(build("die_in_fence"))
        let spec = (allreduce as NSString).deletingLastPathComponent + "/openmpi.yaml"
        try """
        name: ompi-env
        base: debian:bookworm
        kernel: linux-image-cloud-amd64
        packages: [openmpi-bin]
        files:
          - {source: ./allreduce, target: /opt/app/allreduce, mode: "0755"}
          - {source: ./abort, target: /opt/app/abort, mode: "0755"}
          - {source: ./die_in_fence, target: /opt/app/die_in_fence, mode: "0755"}
        format: ext4
        resources: {vcpus: 1, memory: 512M}
        """.write(toFile: spec, atomically: true, encoding: .utf8)
        return spec
    }

    /// Open MPI inside VMs, 2 nodes × 2 VMs: the PMIx server stays in each host's tool agent; each guest agent
    /// listens on its guest's loopback and relays its rank's PMIx connections over the guest link (see the
    /// README). Nothing in the guest image knows vhpc's PMIx: no `mpirun`, no `prted`.
    @Test func allreduceCompletesAcrossVMsOnTwoNodes() throws {
        let spec = try Self.vmSpec()
        let result = try CLI.run(["run", "--vse", spec, "-N", "2", "--vms-per-node", "2", "--mpi", "auto", "-l", "--", "/opt/app/allreduce"],
                                 environment: ["VHPC_JOB_NAME": ControlRunTests.stateDirectory()], timeout: .seconds(900))
        #expect(result.status == 0, "stderr: \(result.stderr)")
        for rank in 0..<4 {
            #expect(result.stdout.contains("\(rank): rank \(rank) of 4 on ompi-env-r\(rank): allreduce sum = 10 (expected 10)"),
                    "\(result.stdout)")
        }
        #expect(ClusterRunTests.leftoverQEMU().isEmpty)
    }

    @Test func mpiAbortInAVMEndsTheJobWithItsCode() throws {
        let spec = try Self.vmSpec()
        let result = try CLI.run(["run", "--vse", spec, "-N", "2", "--vms-per-node", "2", "--", "/opt/app/abort"],
                                 environment: ["VHPC_JOB_NAME": ControlRunTests.stateDirectory()], timeout: .seconds(900))
        #expect(result.status == 7, "stderr: \(result.stderr)")
        #expect(result.stderr.contains("rank 1 called MPI_Abort (exit code 7)"), "\(result.stderr)")
        #expect(ClusterRunTests.leftoverQEMU().isEmpty)
    }

    /// A rank in a VM that exits before MPI_Init (`die_in_fence`: rank 1 exits 3) while the other VM's rank waits
    /// in MPI_Init's fence, one VM per node: under the default policy the job ends with its code; under
    /// `--on-failure continue` rank 1's node marks the fence lost, the host's PMIx server completes rank 0's
    /// fence with an error that the guest link carries to it, and rank 0 fails on its own: the job ends, both
    /// failures reported (the test's timeout is the bound on a hang).
    @Test(arguments: [false, true])
    func aVMRankThatDiesBeforeTheFenceEndsTheJob(continuing: Bool) throws {
        let spec = try Self.vmSpec()
        let policy = continuing ? ["--on-failure", "continue"] : []
        let result = try CLI.run(["run", "--vse", spec, "-N", "2", "--vms-per-node", "1"] + policy + ["--", "/opt/app/die_in_fence"],
                                 environment: ["VHPC_JOB_NAME": ControlRunTests.stateDirectory()], timeout: .seconds(600))
        #expect(result.status == 3 || (continuing && result.status != 0), "status \(result.status), stderr: \(result.stderr)")
        #expect(result.stderr.contains("task 1") && result.stderr.contains("exit code 3"), "\(result.stderr)")
        if continuing {
            #expect(result.stderr.contains("task 0"), "rank 0 must fail on its own: \(result.stderr)")
        }
        #expect(ClusterRunTests.leftoverQEMU().isEmpty)
    }

    /// Open MPI in VMs on the libvirt plug-in (real libvirtd): the same PMIx path through the guest link.
    @Test func allreduceCompletesInLibvirtVMs() throws {
        try #require(V2MLibvirtd.ensureRunning(), "libvirtd not available")
        let spec = try Self.vmSpec()
        let result = try CLI.run(["run", "--vse", spec, "--hypervisor", "libvirt", "-N", "1", "--vms-per-node", "2", "-l", "--",
                                  "/opt/app/allreduce"],
                                 environment: ["VHPC_JOB_NAME": ControlRunTests.stateDirectory()], timeout: .seconds(900))
        #expect(result.status == 0, "stderr: \(result.stderr)")
        for rank in 0..<2 {
            #expect(result.stdout.contains("\(rank): rank \(rank) of 2 on ompi-env-r\(rank): allreduce sum = 3 (expected 3)"),
                    "\(result.stdout)")
        }
        #expect(V2MLibvirtd.vhpcDomains().filter { $0.hasPrefix("vhpc-job-") }.isEmpty, "\(V2MLibvirtd.vhpcDomains())")
        #expect(ClusterRunTests.leftoverQEMU().isEmpty)
    }

    /// A guest's rank may connect only as itself: rank 1 claiming rank 0 (its PMIx client reads PMIX_RANK) is
    /// refused by the host's relay before the server sees a byte, and its MPI_Init fails.
    @Test func aVMRankClaimingAnotherRankIsRefused() throws {
        let spec = try Self.vmSpec()
        let result = try CLI.run(["run", "--vse", spec, "-N", "1", "--vms-per-node", "2", "--", "sh", "-c",
                                  "if [ $PMIX_RANK = 1 ]; then export PMIX_RANK=0; fi; exec /opt/app/allreduce"],
                                 environment: ["VHPC_JOB_NAME": ControlRunTests.stateDirectory()], timeout: .seconds(900))
        #expect(result.status != 0, "stderr: \(result.stderr)")
        #expect(result.stderr.contains("rank 1: PMIx connection from its VM refused: claims rank 0"), "\(result.stderr)")
        #expect(!result.stdout.contains("allreduce sum"), "\(result.stdout)")
        #expect(ClusterRunTests.leftoverQEMU().isEmpty)
    }
}
