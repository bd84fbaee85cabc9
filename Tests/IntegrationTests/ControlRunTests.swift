import Foundation
import JobHistory
import Testing

/// `vhpc run` with the local launcher: real agent processes over loopback TCP.
@Suite(.serialized) struct ControlRunTests {
    /// A fresh state directory for one job (its job records), under this test process's own parent directory.
    /// The parents of earlier test processes that are gone are removed the first time (by name and pid).
    static func stateDirectory() -> String {
        let path = scratchParent + "/\(UInt32.random(in: 0..<1_000_000))"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    private static let scratchPrefix = "vhpc-control-tests-"

    private static let scratchParent: String = {
        let temporary = NSTemporaryDirectory()
        for name in (try? FileManager.default.contentsOfDirectory(atPath: temporary)) ?? [] where name.hasPrefix(scratchPrefix) {
            let pidField = name.dropFirst(scratchPrefix.count).prefix { $0 != "-" }
            guard let pid = Int32(pidField), kill(pid, 0) != 0, errno == ESRCH else { continue }
            try? FileManager.default.removeItem(atPath: temporary + name)
        }
        return temporary + scratchPrefix + "\(getpid())"
    }()

    /// `perProcess` nil: the default (one agent process per node below 16 nodes, then 64 agents per process);
    /// 1 forces a process per node, so 64 nodes are 64 agent processes each dialing its own links.
    @Test(arguments: [(1, nil), (2, nil), (3, nil), (7, nil), (64, nil), (64, 1), (256, nil)] as [(Int, Int?)])
    func runsOneTaskPerNodeAndAggregatesExitCodes(nodes: Int, perProcess: Int?) throws {
        let packing = perProcess.map { ["--agents-per-process", "\($0)"] } ?? []
        let result = try CLI.run(
            ["run", "-N", "\(nodes)", "-l", "-K", "0"] + packing + ["--", "sh", "-c", "echo rank=$VHPC_RANK size=$VHPC_SIZE node=$VHPC_NODE; exit $VHPC_RANK"],
            environment: ["VHPC_JOB_NAME": Self.stateDirectory()])
        #expect(result.status == Int32(nodes - 1), "stderr: \(result.stderr)")
        let lines = Set(result.stdout.split(separator: "\n").map(String.init))
        for rank in 0..<nodes {
            #expect(lines.contains("\(rank): rank=\(rank) size=\(nodes) node=\(rank)"))
        }
    }

    @Test func signalledTaskCountsAs128PlusSignal() throws {
        let result = try CLI.run(["run", "-N", "2", "-K", "0", "--", "sh", "-c", "[ $VHPC_RANK = 1 ] && kill -9 $$; exit 3"],
                                 environment: ["VHPC_JOB_NAME": Self.stateDirectory()])
        #expect(result.status == 137)
    }

    @Test func hundredThousandLinesArriveCompleteAndInOrder() throws {
        let result = try CLI.run(
            ["run", "-N", "4", "-n", "8", "-l", "--", "sh", "-c", "seq 1 12500 | sed \"s/^/$VHPC_RANK /\""],
            environment: ["VHPC_JOB_NAME": Self.stateDirectory()])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        var next = [Int: Int]()
        var count = 0
        for line in result.stdout.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count == 3, let rank = Int(fields[0].dropLast()), let value = Int(fields[2]) else {
                Issue.record("malformed line: \(line)")
                continue
            }
            #expect(value == next[rank, default: 1], "rank \(rank) out of order")
            next[rank] = value + 1
            count += 1
        }
        #expect(count == 100_000)
    }

    @Test func standardInputGoesToRankZeroOnly() throws {
        let result = try CLI.run(program: CLI.vhpc, ["run", "-N", "3", "-l", "--", "sh", "-c", "cat; echo done $VHPC_RANK"],
                                 environment: ["VHPC_JOB_NAME": Self.stateDirectory()], input: (1...2000).map { "line \($0)\n" }.joined())
        #expect(result.status == 0)
        let stdout = result.stdout
        let lines = stdout.split(separator: "\n").map(String.init)
        #expect(lines.filter { $0.hasPrefix("0: line ") } == (1...2000).map { "0: line \($0)" })
        #expect(!lines.contains { $0.hasPrefix("1: line") || $0.hasPrefix("2: line") })
        for rank in 0..<3 { #expect(lines.contains("\(rank): done \(rank)")) }
    }

    @Test func badInputGivesOneClearLine() throws {
        let state = ["VHPC_JOB_NAME": Self.stateDirectory()]
        let cases: [([String], String)] = [
            (["run", "-w", "node[01-", "--", "true"], "bad hostlist"),
            (["run", "-w", "nosuchhost.example", "--", "true"], "unknown host 'nosuchhost.example'"),
            (["run", "-N", "2", "--", "no-such-command-xyz"], "command not found: no-such-command-xyz"),
            (["run", "-N", "3", "-n", "7", "--ntasks-per-node", "2", "--", "true"], "is not --ntasks-per-node"),
        ]
        for (arguments, message) in cases {
            let result = try CLI.run(arguments, environment: state)
            #expect(result.status != 0)
            let lines = result.stderr.split(separator: "\n")
            #expect(lines.count == 1, "\(arguments): \(result.stderr)")
            #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
        }
    }

    /// Agent processes run `vhpc-agent` from vhpc's own directory: a vhpc without it says so in one line before
    /// anything starts; a job its front-end hosts alone (one node) needs no agent process and still runs.
    @Test func aMissingNodeAgentIsOneLineNamingItsPath() throws {
        let directory = CLI.stateDirectory + "/lonely-vhpc-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // A hard link: /proc/self/exe names the path it was started by, a directory without vhpc-agent.
        #expect(link(CLI.vhpc, directory + "/vhpc") == 0)
        let state = ["VHPC_JOB_NAME": Self.stateDirectory()]
        let result = try CLI.run(program: directory + "/vhpc", ["run", "-N", "2", "--", "true"], environment: state)
        #expect(result.status == 1)
        #expect(result.stderr == "vhpc: no node agent at \(directory)/vhpc-agent: vhpc-agent is installed next to vhpc (`make release`, or `swift build --product vhpc-agent`)\n",
                "\(result.stderr)")
        #expect(try CLI.run(program: directory + "/vhpc", ["run", "-N", "1", "--", "true"], environment: state).status == 0)
    }

    @Test func handshakeThatNeverComesIsReportedAndTheChildLeaves() throws {
        let state = Self.stateDirectory()
        let result = try CLI.run(
            ["run", "-N", "3", "--handshake-timeout", "1s", "--stall-rank", "1", "--", "true"],
            environment: ["VHPC_JOB_NAME": state])
        #expect(result.status != 0)
        #expect(result.stderr.contains("agent 1 failed (handshake-failed"), "\(result.stderr)")
        for pid in try Self.recordedPIDs(state) { #expect(!Self.isAlive(pid), "agent \(pid) survived") }
    }

    @Test(arguments: ["abort", "continue"])
    func killingAnInteriorAgentIsDetectedAndNothingSurvives(policy: String) async throws {
        let state = Self.stateDirectory()
        let process = try CLI.command(CLI.vhpc, ["run", "-N", "7", "--fanout", "2", "--heartbeat", "300ms", "--on-failure", policy, "-l", "--",
                                                 "sh", "-c", "sleep 3; echo survived $VHPC_RANK"], environment: ["VHPC_JOB_NAME": state]).start()
        var victim: Int32?
        for _ in 0..<100 where victim == nil {
            try await Task.sleep(for: .milliseconds(50))
            victim = try? Self.recordedAgents(state).first { $0.rank == 1 }?.pid
        }
        let pid = try #require(victim)
        let killed = ContinuousClock.now
        kill(pid, SIGKILL)
        let finished = process.wait()
        let elapsed = ContinuousClock.now - killed
        let stdout = finished.stdout
        let stderr = finished.stderrText
        #expect(finished.status != 0)
        #expect(stderr.contains("agent 1 failed"), "\(stderr)")
        if policy == "abort" {
            #expect(elapsed < .seconds(3), "abort took \(elapsed)")
        } else {
            // Ranks 3 and 4 sit below agent 1 in the boot tree: their output arrives over BMG links.
            let text = String(decoding: stdout, as: UTF8.self)
            for rank in [2, 3, 4, 5, 6] { #expect(text.contains("\(rank): survived \(rank)"), "\(text)") }
        }
        for agent in try Self.recordedPIDs(state) { #expect(!Self.isAlive(agent), "agent \(agent) survived") }
    }

    @Test(arguments: ["abort", "continue"])
    func stoppedInteriorAgentIsCaughtByHeartbeat(policy: String) async throws {
        let state = Self.stateDirectory()
        let process = try CLI.command(CLI.vhpc, ["run", "-N", "7", "--fanout", "2", "--heartbeat", "300ms", "--on-failure", policy, "-l", "--",
                                                 "sh", "-c", policy == "abort" ? "sleep 20" : "sleep 3; echo survived $VHPC_RANK"],
                                      environment: ["VHPC_JOB_NAME": state]).start()
        var victim: Int32?
        for _ in 0..<100 where victim == nil {
            try await Task.sleep(for: .milliseconds(50))
            victim = try? Self.recordedAgents(state).first { $0.rank == 2 }?.pid
        }
        let pid = try #require(victim)
        kill(pid, SIGSTOP)
        let finished = process.wait()
        let (stdout, stderr) = (finished.stdoutText, finished.stderrText)
        #expect(finished.status != 0)
        #expect(stderr.contains("agent 2 failed (heartbeat-timeout"), "\(stderr)")
        if policy == "continue" {
            // Agent 2's children (5, 6) are reached over BMG links; task rank 1 ran on agent 2 and is lost.
            for rank in [0, 2, 3, 4, 5] { #expect(stdout.contains("\(rank): survived \(rank)"), "\(stdout)") }
        }
        for agent in try Self.recordedPIDs(state) { #expect(!Self.isAlive(agent), "agent \(agent) survived") }
    }

    /// The default boot tree is 4-ary, binary when the job stages files (see `RunDefaults.fanout`); an explicit
    /// `--fanout` wins. The job record says which tree the job ran on.
    @Test func defaultFanoutIsFourAndTwoWhenStaging() throws {
        let file = NSTemporaryDirectory() + "vhpc-fanout-\(getpid()).txt"
        try Data("staged\n".utf8).write(to: URL(fileURLWithPath: file))
        defer { try? FileManager.default.removeItem(atPath: file) }
        let cases: [([String], Int)] = [([], 4), (["--stage", file], 2), (["--fanout", "3"], 3), (["--fanout", "3", "--stage", file], 3)]
        for (extra, expected) in cases {
            let state = Self.stateDirectory()
            let result = try CLI.run(["run", "-N", "5"] + extra + ["--", "true"], environment: ["VHPC_JOB_NAME": state])
            #expect(result.status == 0, "\(extra): \(result.stderr)")
            #expect(try Self.jobDetail(state).job.fanout == expected, "\(extra)")
        }
    }

    // MARK: Helpers

    /// The job recorded under `name` (`VHPC_JOB_NAME`) in the history of `home` (default: the tests' VHPC_HOME).
    static func jobDetail(_ name: String, home: String = CLI.stateDirectory) throws -> JobDetail {
        let store = try JobStore(path: home + "/jobs.sqlite")
        return try store.detail(id: try store.resolve(name).id)
    }

    static func recordedAgents(_ name: String, home: String = CLI.stateDirectory) throws -> [AgentRow] {
        let agents = try jobDetail(name, home: home).agents
        guard !agents.isEmpty else { throw CocoaError(.fileReadNoSuchFile) }
        return agents
    }

    static func recordedPIDs(_ name: String, home: String = CLI.stateDirectory) throws -> [Int32] {
        ((try? recordedAgents(name, home: home)) ?? []).map(\.pid).filter { $0 != getpid() }
    }

    static func isAlive(_ pid: Int32) -> Bool {
        ProcessTable.entry(pid) != nil
    }
}
