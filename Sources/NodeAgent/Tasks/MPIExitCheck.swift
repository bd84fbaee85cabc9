import Control
import Foundation

/// Judges how an MPI rank ended, so no failure passes for success and no rank's death leaves its peers
/// waiting:
/// - a task of a job of several tasks whose program links an MPI library, that exited 0 without ever talking
///   to the node's PMI-1 or PMIx server, initialised MPI on its own (`MPI_Init` without a server it
///   understands makes a one-rank `MPI_COMM_WORLD`): a singleton, whose result is not the job's;
/// - a rank that opened a PMI session and exited 0 without closing it (no `MPI_Finalize`) leaves the others
///   waiting in a collective (a fence) for it forever: the job is failed with a message, which ends it under
///   kill-on-bad-exit (the default), as mpirun does.
/// A rank that exits non-zero or by a signal needs nothing more: ``JobPolicy`` reports it and ends the job
/// (and the ranks it then terminates must not count as failures of their own).
public struct MPIExitCheck: Sendable, Hashable {
    public let size: Int
    public let mode: NodeTaskPlan.MPIMode
    /// Whether the program links an MPI library: known, or read from its executable when first asked (only
    /// a task that exits 0 without talking to a PMI server asks; under `--mpi auto` the node has read it before
    /// the launch already, to choose the servers: ``NodeTaskPlan/servesPMIx(to:)``).
    let linkage: Linkage
    /// The node offered PMIx as well as PMI-1 (under `--mpi auto`, not to a program that links only MPICH).
    let servedPMIx: Bool

    enum Linkage: Sendable, Hashable {
        case known(Bool)
        case executable(String)
    }

    public init(size: Int, mode: NodeTaskPlan.MPIMode, linksMPI: Bool) {
        self.size = size
        self.mode = mode
        self.linkage = .known(linksMPI)
        self.servedPMIx = mode == .auto || mode == .pmix
    }

    /// - Parameters:
    ///   - libraries: the program's MPI libraries if already read (else read only when needed).
    ///   - servedPMIx: the tasks were offered PMIx (``NodeTaskPlan/servesPMIx(to:)``).
    init(plan: NodeTaskPlan, executable: String, libraries: MPILinkage.Libraries? = nil, servedPMIx: Bool) {
        self.size = plan.size
        self.mode = plan.mpiMode
        self.linkage = plan.size > 1 && plan.mpiMode != .none ? libraries.map { .known($0.linksMPI) } ?? .executable(executable) : .known(false)
        self.servedPMIx = servedPMIx
    }

    public var linksMPI: Bool {
        switch linkage {
        case .known(let links): links
        case .executable(let path): MPILinkage.shared.links(path)
        }
    }

    /// The failure message for task `rank`, which exited with `status`; nil if its end is fine or already a
    /// failure (non-zero).
    /// - Parameters:
    ///   - connected: it talked to the node's PMI-1 or PMIx server.
    ///   - finalized: it ended that session (PMI-1 `finalize`, `PMIx_Finalize`).
    public func failure(rank: Int, status: Int32, connected: Bool, finalized: Bool) -> String? {
        guard size > 1, mode != .none, status == 0 else { return nil }
        if connected {
            guard !finalized else { return nil }
            return "rank \(rank) exited 0 without MPI_Finalize: the other ranks would wait for it forever; failed"
        }
        guard linksMPI else { return nil }
        let served = switch mode {
        case .auto where !servedPMIx: "PMI-1 (PMIx is not offered under --mpi auto to a program that links only MPICH's library; --mpi pmix serves it)"
        case .auto: "PMI-1 nor PMIx"
        case .pmi1: "PMI-1 (--mpi pmi1; Open MPI needs --mpi pmix or auto)"
        case .pmix: "PMIx (--mpi pmix; MPICH needs --mpi pmi1 or auto)"
        case .none: ""
        }
        return "rank \(rank) ran as an MPI singleton: it exited without contacting the node's \(served) server, so its MPI_COMM_WORLD had 1 rank instead of \(size); failed"
    }
}
