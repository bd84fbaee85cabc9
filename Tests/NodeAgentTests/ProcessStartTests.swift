import Control
@testable import NodeAgent
import Testing

/// How a node applies `--export` and `--chdir` to process tasks, without processes.
@Suite struct ProcessStartTests {
    @Test func nodeKeepsOnlyBasicsUnderExportOnly() {
        var plan = NodeTaskPlan(jobID: "j", agentRank: 1, node: 0, host: "h", taskRanks: 0..<1, size: 1, executable: "x",
                                arguments: [], environment: [TaskEnvironment.exportOnlyVariable: "1"], workingDirectory: "/")
        #expect(plan.processBase(["PATH": "/bin", "SECRET": "s", "HOME": "/h"]) == ["PATH": "/bin", "HOME": "/h"])
        plan.environment = [:]
        #expect(plan.processBase(["SECRET": "s"]) == ["SECRET": "s"])
    }

    @Test func workingDirectoryFallsBackUnlessRequired() throws {
        var plan = NodeTaskPlan(jobID: "j", agentRank: 1, node: 0, host: "h", taskRanks: 0..<1, size: 1, executable: "x",
                                arguments: [], environment: [:], workingDirectory: "/no/such/dir")
        #expect(try plan.processDirectory(home: "/tmp") == "/tmp")
        #expect(try plan.processDirectory(home: nil) == "/")
        plan.environment[TaskEnvironment.chdirRequiredVariable] = "1"
        #expect(throws: TaskStartFailure.badDirectory("/no/such/dir", reason: "No such file or directory")) {
            try plan.processDirectory(home: "/tmp")
        }
    }

    /// The nodes of one job hosted in a process share its start (environment, directory, program), worked out
    /// once; another job's is worked out again.
    @Test func theNodesOfAJobShareItsStart() throws {
        let cache = JobStartCache()
        func plan(job: String, rank: Int, path: String) -> NodeTaskPlan {
            NodeTaskPlan(jobID: job, agentRank: rank, node: rank - 1, host: "h", taskRanks: (rank - 1)..<rank, size: 2,
                         executable: "sh", arguments: [], environment: ["PATH": path, "A": "launch"], workingDirectory: "/")
        }
        let node = ["PATH": "/nowhere", "A": "node", "B": "node"]
        let first = try cache.start(of: plan(job: "j1", rank: 1, path: "/bin"), nodeEnvironment: node).get()
        #expect(first.executable == "/bin/sh" && first.directory == "/")
        #expect(first.environment == ["PATH": "/bin", "A": "launch", "B": "node", "PWD": "/"])
        let second = try cache.start(of: plan(job: "j1", rank: 2, path: "/bin"), nodeEnvironment: node).get()
        #expect(second.executable == first.executable && second.environment == first.environment)
        #expect(try cache.start(of: plan(job: "j2", rank: 1, path: "/usr/bin"), nodeEnvironment: node).get().executable == "/usr/bin/sh")
        #expect(throws: TaskStartFailure.lookup("sh", path: "/nowhere")) {
            try cache.start(of: plan(job: "j3", rank: 1, path: "/nowhere"), nodeEnvironment: node).get()
        }
        let task = plan(job: "j1", rank: 2, path: "/bin").environment(forTask: 1, launchEnvironment: first.environment)
        #expect(task["VHPC_RANK"] == "1" && task["VHPC_LOCAL_RANK"] == "0" && task["PWD"] == "/" && task["B"] == "node")
    }
}
