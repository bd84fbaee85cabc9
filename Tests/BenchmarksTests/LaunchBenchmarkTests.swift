import Testing

@testable import Benchmarks

/// `vhpc bench launch` runs vhpc on the nodes hydra uses too: hydra fills each node's Slurm slots in turn.
@Suite struct LaunchBenchmarkTests {
    @Test func readsSlurmTasksPerNode() {
        #expect(LaunchBenchmark.slots(tasksPerNode: "64(x3)") == [64, 64, 64])
        #expect(LaunchBenchmark.slots(tasksPerNode: "2(x2),1") == [2, 2, 1])
        #expect(LaunchBenchmark.slots(tasksPerNode: "4") == [4])
        #expect(LaunchBenchmark.slots(tasksPerNode: "") == nil)
        #expect(LaunchBenchmark.slots(tasksPerNode: "64(3)") == nil)
        #expect(LaunchBenchmark.slots(tasksPerNode: "x") == nil)
    }

    /// In the test cluster's 3-node allocation of 64 CPUs per node hydra ran `srun -N 1` for 3 and 48 ranks and
    /// `srun -N 3` for 192 (seen with strace); 65 ranks need a second node.
    @Test func hydraUsesTheNodesItsRanksFill() {
        let slots = [64, 64, 64]
        #expect(LaunchBenchmark.hydraNodes(tasks: 3, slots: slots) == 1)
        #expect(LaunchBenchmark.hydraNodes(tasks: 48, slots: slots) == 1)
        #expect(LaunchBenchmark.hydraNodes(tasks: 65, slots: slots) == 2)
        #expect(LaunchBenchmark.hydraNodes(tasks: 192, slots: slots) == 3)
        #expect(LaunchBenchmark.hydraNodes(tasks: 500, slots: slots) == 3)
        #expect(LaunchBenchmark.hydraNodes(tasks: 3, slots: [1, 1, 1]) == 3)
    }
}
