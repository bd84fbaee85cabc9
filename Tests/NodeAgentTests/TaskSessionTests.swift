import Testing
@testable import NodeAgent

/// Which tasks share their agent's session (one CPU-fairness group under autogroup, where `sched_yield` works).
@Suite struct TaskSessionTests {
    @Test func oversubscribedOpenMPIRanksShareTheAgentsSession() {
        #expect(!ProcessTaskBackend.startsInSessionOfItsOwn(["OMPI_MCA_mpi_oversubscribe": "1"], servesPMIx: true))
    }

    @Test func everyOtherTaskHasASessionOfItsOwn() {
        // Not oversubscribed, or said so by nobody.
        #expect(ProcessTaskBackend.startsInSessionOfItsOwn(["OMPI_MCA_mpi_oversubscribe": "0"], servesPMIx: true))
        #expect(ProcessTaskBackend.startsInSessionOfItsOwn([:], servesPMIx: true))
        // MPICH's ranks (PMI-1 only) and plain programs, whatever the variable says.
        #expect(ProcessTaskBackend.startsInSessionOfItsOwn(["OMPI_MCA_mpi_oversubscribe": "1"], servesPMIx: false))
    }
}
