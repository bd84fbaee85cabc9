import Control
import HostProcess
import Synchronization

/// What every node of a job that this process hosts works out the same way before its tasks start: the tasks'
/// base environment (with the node's topology for MPICH's ranks, ``HwlocTopology``), their directory, the
/// program's path and its MPI linkage. Worked out once per job (a
/// process hosts up to 256 nodes' agents, and each repeated it: ~6 ms of CPU at N = 256), then shared; only
/// the last job's is kept (a process runs one job).
final class JobStartCache: Sendable {
    /// A job's shared start: the environment every task starts from (the launch's variables over the node's,
    /// `PWD` set), the directory and program, the program's linkage under `--mpi auto`.
    struct Start: Sendable {
        var environment: [String: String]
        var directory: String
        var executable: String
        var libraries: MPILinkage.Libraries?
        /// The node's hwloc XML for an MPI program's ranks (``HwlocTopology``), unless the user chose hwloc's source.
        var topologyFile: String?
    }

    /// A job's one launch (launch id 1) is what the key's fields come from.
    private struct Key: Equatable {
        var jobID: String
        var executable: String
        var workingDirectory: String
        var environment: [String: String]
    }

    private let last = Mutex<(key: Key, start: Result<Start, TaskStartFailure>)?>(nil)

    /// The start of `plan`'s job on a node whose environment is `nodeEnvironment`: worked out by the first of
    /// the job's agents to ask, under the lock (the others wait for it: it takes microseconds).
    func start(of plan: NodeTaskPlan, nodeEnvironment: [String: String]) -> Result<Start, TaskStartFailure> {
        let key = Key(jobID: plan.jobID, executable: plan.executable, workingDirectory: plan.workingDirectory, environment: plan.environment)
        return last.withLock { last in
            if let last, last.key == key { return last.start }
            let start = Self.workOut(plan, nodeEnvironment: nodeEnvironment)
            last = (key, start)
            return start
        }
    }

    private static func workOut(_ plan: NodeTaskPlan, nodeEnvironment: [String: String]) -> Result<Start, TaskStartFailure> {
        let base = plan.processBase(nodeEnvironment)
        let pathVariable = plan.environment["PATH"] ?? base["PATH"]
        let directory: String
        do throws(TaskStartFailure) {
            directory = try plan.processDirectory(home: base["HOME"])
        } catch {
            return .failure(error)
        }
        let name = ExecutableLookup.anchored(plan.executable, in: directory)
        guard let executable = ExecutableLookup.resolve(name, path: pathVariable) else {
            return .failure(.lookup(name, path: pathVariable, shownAs: plan.executable))
        }
        // Under --mpi auto the program's MPI library decides which servers its tasks get (servesPMIx(to:),
        // servesPMI1(to:)).
        let libraries = plan.mpiMode == .auto ? MPILinkage.shared.libraries(executable, runningWith: base, plan.environment) : nil
        var environment = base.merging(plan.environment) { _, launch in launch }
        environment["PWD"] = directory
        // MPI ranks load the node's topology from the agent's XML instead of each discovering it.
        let linkage = libraries ?? MPILinkage.shared.libraries(executable)
        let topologyFile = HwlocTopology.wanted(by: linkage, taskEnvironment: environment) ? HwlocTopologyCache.file() : nil
        if let topologyFile, linkage.mpich {
            environment.merge(HwlocTopology.environment(xmlFile: topologyFile)) { task, _ in task }
        }
        // Open MPI's ranks skip the fabric components that could only drive hardware this node lacks.
        if linkage.other {
            environment.merge(OpenMPIFabrics.environment(node: OpenMPIFabricProbe.node, taskEnvironment: environment)) { task, _ in task }
        }
        return .success(Start(environment: environment, directory: directory, executable: executable, libraries: libraries,
                              topologyFile: topologyFile))
    }
}
