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
}
