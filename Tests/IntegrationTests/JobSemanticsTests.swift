import Foundation
import Testing

/// What srun and mpirun users expect of `vhpc run` (issue 15), with real agent processes and tasks: failed
/// tasks reported and ending the job, SIGPIPE, time limits, stdin, environment, working directory, exit codes
/// of tasks that cannot start, and limits checked before anything starts.
@Suite(.serialized) struct JobSemanticsTests {
    static let state: [String: String] = [:]

    /// Runs `vhpc ARGS` with `input` as its stdin (nil: an empty pipe); kills it after `timeout`.
    static func run(_ arguments: [String], input: String?, environment: [String: String] = [:],
                    directory: String = CLI.repositoryRoot, timeout: Duration = .seconds(120)) throws -> CLI.Result {
        try CLI.run(program: CLI.vhpc, arguments, environment: state.merging(environment) { _, new in new }, directory: directory,
                    input: input ?? "", timeout: timeout)
    }

    // MARK: task failures

    @Test func aBadExitEndsTheJobWithItsCodeAndTheOthersLastOutput() throws {
        let clock = ContinuousClock()
        let start = clock.now
        let result = try CLI.run(
            ["run", "-N", "4", "-l", "--", "sh", "-c",
             "trap 'echo rank $VHPC_RANK terminated; exit 1' TERM; if [ $VHPC_RANK = 2 ]; then sleep 0.5; exit 3; fi; sleep 60 & wait"],
            environment: Self.state, timeout: .seconds(60))
        #expect(result.status == 3, "stderr: \(result.stderr)")
        #expect(clock.now - start < .seconds(20), "the other tasks must not run their 60 s")
        let errors = result.stderr.split(separator: "\n").map(String.init)
        #expect(errors.filter { $0.hasPrefix("vhpc: task ") } == ["vhpc: task 2 (node 2): exited with exit code 3"], "\(result.stderr)")
        for rank in [0, 1, 3] { #expect(result.stdout.contains("\(rank): rank \(rank) terminated"), "\(result.stdout)") }
    }

    @Test func aSignalIsNamedAndKZeroLetsTheOthersFinish() throws {
        let result = try CLI.run(
            ["run", "-N", "3", "-l", "-K", "0", "--", "sh", "-c",
             "if [ $VHPC_RANK = 1 ]; then kill -SEGV $$; fi; sleep 1; echo rank $VHPC_RANK finished"],
            environment: Self.state, timeout: .seconds(60))
        #expect(result.status == 139, "stderr: \(result.stderr)")
        #expect(result.stderr.contains("vhpc: task 1 (node 1): killed by signal 11 (SIGSEGV)"), "\(result.stderr)")
        #expect(result.stdout.contains("0: rank 0 finished") && result.stdout.contains("2: rank 2 finished"), "\(result.stdout)")
    }

    /// The MPICH hang: rank 1 exits 3 after MPI_Init while the others wait in an allreduce.
    @Test func anMPIRankLeavingEarlyEndsTheJobWithItsCode() throws {
        let directory = NSTemporaryDirectory() + "vhpc-mpi-early-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let compile = try CLI.run(program: "/usr/bin/mpicc.mpich", ["-o", directory + "/early", CLI.repositoryRoot + "/tests/fixtures/mpi/early_exit.c"])
        try #require(compile.status == 0, "\(compile.stderr)")
        let result = try CLI.run(["run", "-N", "2", "-n", "4", "--", directory + "/early"], environment: Self.state, timeout: .seconds(60))
        #expect(result.status == 3, "stderr: \(result.stderr)")
        #expect(result.stderr.contains("vhpc: task 1 (node 0): exited with exit code 3"), "\(result.stderr)")
        // exit(0) without MPI_Finalize breaks the job just the same: it ends, and not with 0.
        let quiet = try CLI.run(["run", "-N", "2", "-n", "4", "--", directory + "/early", "0"], environment: Self.state, timeout: .seconds(60))
        #expect(quiet.status == 1, "stderr: \(quiet.stderr)")
        #expect(quiet.stderr.contains("vhpc: task 1 (node 0): rank 1 exited 0 without MPI_Finalize"), "\(quiet.stderr)")
    }

    @Test func sigpipeOnStdoutEndsTheJobQuietlyWith141() throws {
        let result = try CLI.run(program: "/bin/bash", ["-c", "'\(CLI.vhpc)' run -N 2 -- yes | head -2 >/dev/null; echo \"status=${PIPESTATUS[0]}\""],
                                 environment: Self.state)
        let (stdout, stderr) = (result.stdout, result.stderr)
        #expect(stdout == "status=141\n")
        #expect(stderr.isEmpty, "\(stderr)")
    }

    @Test func theTimeLimitEndsTheJobWith124() throws {
        let clock = ContinuousClock()
        let start = clock.now
        let result = try CLI.run(["run", "-N", "2", "--time", "0:02", "--", "sleep", "60"], environment: Self.state, timeout: .seconds(60))
        #expect(result.status == 124, "stderr: \(result.stderr)")
        #expect(result.stderr.contains("vhpc: time limit of 2 s reached: terminating the job"), "\(result.stderr)")
        #expect(clock.now - start < .seconds(20))
    }

    // MARK: stdin, environment, directory, exit codes

    @Test func inputGoesWhereInputSays() throws {
        let all = try Self.run(["run", "-N", "3", "-l", "--input", "all", "--", "sh", "-c", "cat; echo done"], input: "a\nb\n")
        #expect(all.status == 0, "\(all.stderr)")
        // Each rank's lines in order; ranks' lines may interleave (each task's output is its own stream).
        for rank in 0..<3 {
            let lines = all.stdout.split(separator: "\n").filter { $0.hasPrefix("\(rank): ") }
            #expect(lines == ["\(rank): a", "\(rank): b", "\(rank): done"], "\(all.stdout)")
        }
        let one = try Self.run(["run", "-N", "3", "-l", "--input", "2", "--", "sh", "-c", "cat; echo done"], input: "x\n")
        #expect(one.stdout.split(separator: "\n").filter { $0.hasSuffix(": x") } == ["2: x"], "\(one.stdout)")
        let none = try Self.run(["run", "-N", "2", "--input", "none", "--", "cat"], input: "ignored\n")
        #expect(none.status == 0 && none.stdout.isEmpty, "\(none.stdout)")
        let bad = try Self.run(["run", "-N", "2", "--input", "5", "--", "cat"], input: nil)
        #expect(bad.status != 0 && bad.stderr.contains("--input 5: the job has 2 tasks"), "\(bad.stderr)")
    }

    @Test func environmentAndDirectoryFollowExportAndChdir() throws {
        let user = ["T15_FOO": "bar", "PMI_FD": "9"]
        let all = try Self.run(["run", "-N", "2", "-l", "--mpi", "none", "--", "sh", "-c", "echo foo=$T15_FOO pmi=${PMI_FD:-unset} pwd=$(pwd)"],
                               input: nil, environment: user)
        #expect(all.stdout.contains("1: foo=bar pmi=unset pwd=\(CLI.repositoryRoot)"), "\(all.stdout)\n\(all.stderr)")
        let moved = try Self.run(["run", "-N", "2", "-l", "--chdir", "/tmp", "--", "pwd"], input: nil)
        #expect(moved.stdout.contains("1: /tmp"), "\(moved.stdout)\n\(moved.stderr)")
        let none = try Self.run(["run", "-N", "1", "--export", "NONE,T15_X=1", "--", "sh", "-c", "echo foo=${T15_FOO:-unset} x=$T15_X"],
                                input: nil, environment: user)
        #expect(none.stdout == "foo=unset x=1\n", "\(none.stdout)\n\(none.stderr)")
    }

    /// Each task leads a session of its own, as hydra's ranks do (`ProcessSpawner`'s `newSession`): with
    /// autogroup scheduling a session is one CPU-fairness group, and tasks left in the user's session share one.
    /// Except tasks served PMIx on an oversubscribed node (Open MPI's ranks yield when idle there, which only
    /// helps within a group: `ProcessTaskBackend.startsInSessionOfItsOwn`): they share their agent's session.
    @Test func everyTaskLeadsASessionOfItsOwn() throws {
        let script = "echo pid=$$ session=$(cut -d' ' -f6 /proc/$$/stat)"
        let tasks = ProcessInfo.processInfo.activeProcessorCount + 1  // oversubscribed
        for mpi in ["pmi1", "pmix"] {
            let result = try Self.run(["run", "-N", "1", "-n", "\(tasks)", "-l", "--mpi", mpi, "--", "sh", "-c", script], input: nil)
            let lines = result.stdout.split(separator: "\n")
            #expect(lines.count == tasks, "\(result.stdout)\n\(result.stderr)")
            for line in lines {
                let fields = line.split(separator: " ")
                #expect(fields.count == 3, "\(line)")
                let leads = fields.count == 3 && fields[1].dropFirst(4) == fields[2].dropFirst(8)
                #expect(leads == (mpi == "pmi1"), "--mpi \(mpi): \(line)")
            }
        }
    }

    @Test func tasksThatCannotStartExit127Or126Or1NamingRankAndNode() throws {
        let script = NSTemporaryDirectory() + "vhpc-t15-noexec-\(getpid())"
        FileManager.default.createFile(atPath: script, contents: Data("#!/bin/sh\n".utf8), attributes: [.posixPermissions: 0o644])
        defer { try? FileManager.default.removeItem(atPath: script) }
        // The front-end checks locally first; on the nodes (here: a relative path from another directory)
        // every task reports its own line.
        let local = try Self.run(["run", "-N", "2", "--", script], input: nil)
        #expect(local.status == 126 && local.stderr.contains("cannot execute \(script): permission denied"), "\(local.stderr)")
        let missing = try Self.run(["run", "-N", "2", "--", "no-such-command-t15"], input: nil)
        #expect(missing.status == 127, "\(missing.stderr)")
        // ./here exists where the front-end runs, not in the tasks' directory (/).
        let here = (script as NSString).deletingLastPathComponent
        let runnable = here + "/vhpc-t15-here"
        FileManager.default.createFile(atPath: runnable, contents: Data("#!/bin/sh\n".utf8), attributes: [.posixPermissions: 0o755])
        defer { try? FileManager.default.removeItem(atPath: runnable) }
        let onNodes = try Self.run(["run", "-N", "2", "--chdir", "/", "--", "./vhpc-t15-here"], input: nil, directory: here)
        #expect(onNodes.status == 127, "\(onNodes.stderr)")
        #expect(onNodes.stderr.contains("vhpc: task 0 (node 0): command not found: ./vhpc-t15-here (exit code 127)"), "\(onNodes.stderr)")
        #expect(onNodes.stderr.contains("vhpc: task 1 (node 1): command not found"), "\(onNodes.stderr)")
        let directory = try Self.run(["run", "-N", "2", "--chdir", "/no/such/dir", "--", "pwd"], input: nil)
        #expect(directory.status == 1)
        #expect(directory.stderr.contains("vhpc: task 1 (node 1): cannot change to directory /no/such/dir: No such file or directory"), "\(directory.stderr)")
    }

    /// SIGTERM while 1,024 agents bootstrap ends the job within seconds, and nothing it started survives.
    @Test func aSignalDuringBootstrapEndsTheJob() async throws {
        let job = try ControlFaultTests.Job(["run", "-N", "1024", "--", "sleep", "60"])
        _ = try await job.waitFor { !$0.isEmpty }  // the first agent process exists: bootstrap is under way
        let sent = ContinuousClock.now
        kill(job.process.pid, SIGTERM)
        let result = job.finish()
        #expect(result.status == 128 + SIGTERM, "\(result.stderr)")
        #expect(ContinuousClock.now - sent < .seconds(10))
        try await Task.sleep(for: .milliseconds(500))
        #expect(job.survivors().isEmpty, "left running: \(job.survivors())")
        for pid in job.survivors() { kill(pid, SIGKILL) }
    }

    /// kill -9 of the front-end: its agents notice (their links to it close) and end, their tasks with them,
    /// and remove their nodes' PMIx directories on the way out. (`sleep` through `sh`, which could start an MPI
    /// program: `sleep` itself can start none and gets no PMIx server.)
    @Test func killingTheFrontEndLeavesNothingBehind() async throws {
        let tmpdir = try Self.privateTemporaryDirectory("frontend")
        defer { try? FileManager.default.removeItem(atPath: tmpdir) }
        let job = try ControlFaultTests.Job(["run", "-N", "4", "--", "sh", "-c", "exec sleep 60"], environment: ["TMPDIR": tmpdir])
        _ = try await job.waitFor { $0.filter { $0.command == "sleep" }.count == 4 }
        #expect(!Self.nodeDirectories(tmpdir).isEmpty, "the job's nodes made no PMIx directory in \(tmpdir)")
        kill(job.process.pid, SIGKILL)
        _ = job.finish()
        let killed = ContinuousClock.now
        while !job.survivors().isEmpty || !Self.nodeDirectories(tmpdir).isEmpty, ContinuousClock.now - killed < .seconds(15) {
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(job.survivors().isEmpty, "left running: \(job.survivors())")
        #expect(Self.nodeDirectories(tmpdir).isEmpty, "node files left behind: \(Self.nodeDirectories(tmpdir))")
        print("front-end killed: every agent and task gone after \(ContinuousClock.now - killed)")
        for pid in job.survivors() { kill(pid, SIGKILL) }
    }

    /// kill -9 of the whole job at once (front-end and every agent process, as the OOM killer or `kill -9` of
    /// everything would): nobody is left to remove the nodes' PMIx directories, so the next job on the machine
    /// does (their owners are dead); a directory whose owner lives, or without an owner file, stays.
    @Test func nodeFilesOfAJobKilledWholeAreRemovedByTheNextJob() async throws {
        let tmpdir = try Self.privateTemporaryDirectory("whole")
        defer { try? FileManager.default.removeItem(atPath: tmpdir) }
        let job = try ControlFaultTests.Job(["run", "-N", "3", "--", "sh", "-c", "exec sleep 60"], environment: ["TMPDIR": tmpdir])
        let tree = try await job.waitFor { $0.filter { $0.command == "sleep" }.count == 3 }
        let killed = Self.nodeDirectories(tmpdir)
        #expect(killed.count == 3, "\(killed)")
        // Every process at once, front-end included: no agent gets to clean up. Stopped first, all of them:
        // killed one by one, an agent still running saw the front-end's link close and removed its own
        // directory before its SIGKILL came (a flaky failure).
        for pid in [job.process.pid] + tree.map(\.pid) { kill(pid, SIGSTOP) }
        for pid in [job.process.pid] + tree.map(\.pid) { kill(pid, SIGKILL) }
        _ = job.finish()
        let deadline = ContinuousClock.now + .seconds(10)
        while !job.survivors().isEmpty, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(job.survivors().isEmpty, "left running: \(job.survivors())")
        #expect(Self.nodeDirectories(tmpdir) == killed, "the killed job's directories should still be there")
        // Not abandoned: a directory of a live owner (this test process) and one without an owner file.
        let live = tmpdir + "/vhpc-pmix-live-vhpc-node0"
        let unowned = tmpdir + "/vhpc-pmix-unowned-vhpc-node0"
        for directory in [live, unowned] { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false) }
        let start = try #require(Self.startTime(of: getpid()))
        try "host=\(Self.hostName) pid=\(getpid()) start=\(start)\n".write(toFile: live + "/.vhpc-owner", atomically: false, encoding: .utf8)
        // The next job served PMIx (`true` alone is not: it can start no MPI) sweeps them.
        let next = try CLI.run(["run", "-N", "1", "--", "sh", "-c", "true"], environment: ["TMPDIR": tmpdir, "VHPC_JOB_NAME": job.state], timeout: .seconds(60))
        #expect(next.status == 0, "\(next.stderr)")
        #expect(Self.nodeDirectories(tmpdir) == ["vhpc-pmix-live-vhpc-node0", "vhpc-pmix-unowned-vhpc-node0"],
                "left behind: \(Self.nodeDirectories(tmpdir))")
    }

    static func privateTemporaryDirectory(_ name: String) throws -> String {
        let path = NSTemporaryDirectory() + "vhpc-semantics-\(name)-\(getpid())"
        try? FileManager.default.removeItem(atPath: path)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// The PMIx node directories in `tmpdir`, sorted.
    static func nodeDirectories(_ tmpdir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: tmpdir)) ?? []).filter { $0.hasPrefix("vhpc-pmix-") }.sorted()
    }

    /// Field 22 of /proc/PID/stat: when the process started.
    static func startTime(of pid: Int32) -> UInt64? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 19 ? UInt64(fields[19]) : nil
    }

    static var hostName: String {
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, 255)
        return String(cString: buffer)
    }

    @Test func jobsTooBigForThisHostAreRefusedBeforeAnythingStarts() throws {
        let clock = ContinuousClock()
        let start = clock.now
        // Below the 65,536-node input bound (checked first), far above what this 2-core host can hold.
        let result = try Self.run(["run", "-N", "60000", "--", "true"], input: nil)
        #expect(result.status == 1)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].hasPrefix("vhpc: -N 60000 with 60000 tasks needs"), "\(result.stderr)")
        #expect(clock.now - start < .seconds(10))
    }
}

/// The same rules for tasks in VMs (`--vse`, the tiny busybox image under QEMU/TCG).
@Suite(.serialized) struct VMJobSemanticsTests {
    init() throws {
        let build = try CLI.run(["vse", "build", "-q", "examples/tiny.yaml"])
        #expect(build.status == 0, "\(build.stderr)")
    }

    @Test func stdinReachesTheGuestsAndEndOfFileEndsTheirRead() throws {
        let all = try JobSemanticsTests.run(
            ["run", "--vse", "tiny", "-N", "2", "--vms-per-node", "1", "-l", "--input", "all", "--", "sh", "-c", "cat; echo done"],
            input: "a\nb\n", timeout: .seconds(180))
        #expect(all.status == 0, "\(all.stderr)")
        // Each rank's lines arrive in order; lines of different ranks may interleave (two VMs write at once).
        for rank in 0..<2 {
            let own = all.stdout.split(separator: "\n").filter { $0.hasPrefix("\(rank): ") }
            #expect(own == ["\(rank): a", "\(rank): b", "\(rank): done"], "\(all.stdout)")
        }
        // Rank 1 gets no input (default --input 0) and rank 0 an empty one: both read end-of-file, nobody hangs.
        let quiet = try JobSemanticsTests.run(["run", "--vse", "tiny", "-N", "2", "--vms-per-node", "1", "--", "cat"],
                                              input: nil, timeout: .seconds(180))
        #expect(quiet.status == 0 && quiet.stdout.isEmpty, "\(quiet.stdout)\n\(quiet.stderr)")
        let boot = try JobSemanticsTests.run(["vse", "boot", "tiny", "--", "sh", "-c", "tr a-z A-Z"], input: "hello guest\n",
                                             timeout: .seconds(180))
        #expect(boot.status == 0 && boot.stdout.contains("HELLO GUEST"), "\(boot.stdout)\n\(boot.stderr)")
    }

    @Test func environmentDirectoryAndExitCodesMatchProcesses() throws {
        let env = try JobSemanticsTests.run(
            ["run", "--vse", "tiny", "-N", "1", "--vms-per-node", "1", "--chdir", "/opt", "--", "sh", "-c",
             "echo foo=$T15_FOO host=${HOSTNAME:-unset} path=$PATH pwd=$(pwd)"],
            input: nil, environment: ["T15_FOO": "bar", "HOSTNAME": "login1"], timeout: .seconds(180))
        // HOSTNAME is the front-end's own: not exported; the guest has its own name.
        #expect(env.stdout.contains("foo=bar host=tiny-r0 path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin pwd=/opt"),
                "\(env.stdout)\n\(env.stderr)")
        let missing = try JobSemanticsTests.run(["run", "--vse", "tiny", "-N", "1", "--vms-per-node", "1", "--", "no-such-command-t15"],
                                                input: nil, timeout: .seconds(180))
        #expect(missing.status == 127, "\(missing.stderr)")
        #expect(missing.stderr.contains("vhpc: task 0 (node 0): command not found: no-such-command-t15 (exit code 127)"), "\(missing.stderr)")
        let notExecutable = try JobSemanticsTests.run(["run", "--vse", "tiny", "-N", "1", "--vms-per-node", "1", "--", "/opt/hello.txt"],
                                                      input: nil, timeout: .seconds(180))
        #expect(notExecutable.status == 126, "\(notExecutable.stderr)")
    }

    @Test func aBadExitInOneVMEndsTheOthers() throws {
        let clock = ContinuousClock()
        let start = clock.now
        let result = try JobSemanticsTests.run(
            ["run", "--vse", "tiny", "-N", "2", "--vms-per-node", "2", "--", "sh", "-c", "[ $VHPC_RANK = 1 ] && exit 3; sleep 120"],
            input: nil, timeout: .seconds(180))
        #expect(result.status == 3, "\(result.stderr)")
        #expect(result.stderr.contains("vhpc: task 1 (node 0): exited with exit code 3"), "\(result.stderr)")
        #expect(clock.now - start < .seconds(100), "the other VMs must not run their 120 s")
        #expect(ClusterRunTests.leftoverQEMU().isEmpty, "\(ClusterRunTests.leftoverQEMU())")
    }

    /// `--stage` with `--vse`: every guest holds the files under /vhpc/staged (DEST below it), checked by sha256
    /// inside the guest against the host's.
    @Test func stagedFilesAppearInsideEveryGuest() throws {
        let source = NSTemporaryDirectory() + "vhpc-t15-stage-\(getpid()).bin"
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<(300 * 1024)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        FileManager.default.createFile(atPath: source, contents: Data(bytes))
        defer { try? FileManager.default.removeItem(atPath: source) }
        let expected = try CLI.run(program: "/usr/bin/sha256sum", [source]).stdout.prefix(64)
        let result = try JobSemanticsTests.run(
            ["run", "--vse", "tiny", "-N", "2", "--vms-per-node", "1", "-l", "--stage", source, "--stage", source + ":in/data.bin", "--",
             "sh", "-c", "sha256sum \"$VHPC_STAGED_0\" \"$VHPC_STAGED_1\"; echo dir=$VHPC_STAGE_DIR"],
            input: nil, timeout: .seconds(180))
        #expect(result.status == 0, "\(result.stderr)")
        let name = (source as NSString).lastPathComponent
        for rank in 0..<2 {
            #expect(result.stdout.contains("\(rank): \(expected)  /vhpc/staged/\(name)"), "\(result.stdout)")
            #expect(result.stdout.contains("\(rank): \(expected)  /vhpc/staged/in/data.bin"), "\(result.stdout)")
            #expect(result.stdout.contains("\(rank): dir=/vhpc/staged"), "\(result.stdout)")
        }
    }

    @Test func moreVCPUsThanCoresIsRefusedUnlessOvercommitted() throws {
        let result = try JobSemanticsTests.run(["run", "--vse", "tiny", "-N", "1", "--vms-per-node", "64", "--", "true"], input: nil)
        #expect(result.status == 1)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].contains("64 VMs per node × 1 vCPU need 64 cores per node"), "\(result.stderr)")
        #expect(ClusterRunTests.leftoverQEMU().isEmpty)
    }
}
