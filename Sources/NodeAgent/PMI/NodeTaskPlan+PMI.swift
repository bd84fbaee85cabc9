import Control

extension NodeTaskPlan {
    /// The node's PMI server configuration; `tasksPerVM` when every task runs in a VM of its own.
    public func pmiConfiguration(tasksPerVM: Bool) -> PMINodeServer.Configuration {
        PMINodeServer.Configuration(
            kvsName: "kvs_" + jobID, size: size, localRanks: taskRanks,
            processMapping: PMINodeServer.processMapping(TaskLayout(tasks: size, nodes: nodeCount), tasksPerVM: tasksPerVM),
            lenientAfter: Self.pmiLenientDelay(environment))
    }

    /// Whether this node serves PMIx to process tasks running `libraries`' program: as `--mpi` asks
    /// (``usesPMIx``), except that under `auto` a program that links MPICH's library and no other MPI's gets
    /// PMI-1 only, and one that can start no MPI at all (``MPILinkage/Libraries/startsNoMPI``) gets neither.
    /// MPICH speaks PMI-1 over `PMI_FD` and never reads PMIx's variables, while a PMIx namespace, each task's
    /// `PMIx_server_setup_fork` and 20-odd variables per task cost its launch for nothing.
    public func servesPMIx(to libraries: MPILinkage.Libraries) -> Bool {
        switch mpiMode {
        case .pmix: true
        case .auto: libraries.getsPMIxUnderAuto
        case .pmi1, .none: false
        }
    }

    /// Whether this node serves PMI-1 to process tasks running `libraries`' program: as `--mpi` asks
    /// (``usesPMI``), except that under `auto` a program that can start no MPI (`true`, `hostname`) gets none:
    /// its socket, its reader and its variables would cost each task's start for nothing.
    public func servesPMI1(to libraries: MPILinkage.Libraries) -> Bool {
        mpiMode == .auto ? !libraries.startsNoMPI : usesPMI
    }
}
