import Control

extension NodeTaskPlan {
    /// The node's PMI server configuration; `tasksPerVM` when every task runs in a VM of its own.
    public func pmiConfiguration(tasksPerVM: Bool) -> PMINodeServer.Configuration {
        PMINodeServer.Configuration(
            kvsName: "kvs_" + jobID, size: size, localRanks: taskRanks,
            processMapping: PMINodeServer.processMapping(TaskLayout(tasks: size, nodes: nodeCount), tasksPerVM: tasksPerVM),
            lenientAfter: Self.pmiLenientDelay(environment))
    }
}
