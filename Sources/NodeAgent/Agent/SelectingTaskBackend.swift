import Control

/// Picks the VM backend for a launch whose runtime is VMs, the process backend otherwise.
public struct SelectingTaskBackend: TaskBackend {
    let processes: ProcessTaskBackend
    let vms: VMTaskBackend

    public init(processes: ProcessTaskBackend, vms: VMTaskBackend) {
        self.processes = processes
        self.vms = vms
    }

    public func run(_ plan: NodeTaskPlan, controls: AsyncStream<TaskControl>, report: @escaping @Sendable (AgentEvent) -> Void) async {
        switch plan.runtime {
        case .vms: await vms.run(plan, controls: controls, report: report)
        case .processes: await processes.run(plan, controls: controls, report: report)
        }
    }

    /// Only process tasks are served PMIx from the start (``AgentProcessConfiguration/prestartsPMIx``).
    public func prestartServers(jobID: String, firstAgent: Int) {
        processes.prestartServers(jobID: jobID, firstAgent: firstAgent)
    }

    public func finishServers() {
        processes.finishServers()
    }
}
