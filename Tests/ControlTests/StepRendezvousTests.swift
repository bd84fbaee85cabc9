import Control
import Testing
import Topology

@Suite struct StepRendezvousTests {
    let controller = AgentEndpoint(rank: 0, host: "10.0.0.1", port: 4000, pid: 1)

    func endpoint(_ rank: Int) -> AgentEndpoint { AgentEndpoint(rank: rank, host: "10.0.0.\(rank + 10)", port: 5000 + rank, pid: Int32(100 + rank)) }

    @Test func childrenOfTheControllerGetItsEndpointAtOnce() throws {
        var machine = StepRendezvous(tree: try BootTree(kind: .tree(arity: 2), nodeCount: 7), controller: controller)
        #expect(machine.join(endpoint(1)) == [.sendParent(rank: 1, parent: controller)])
        #expect(machine.join(endpoint(2)) == [.sendParent(rank: 2, parent: controller)])
        #expect(machine.missing == [3, 4, 5, 6])
    }

    @Test func aChildWaitsUntilItsParentIsReady() throws {
        // Binary tree over ranks 0…6: 1 → {3, 4}, 2 → {5, 6}.
        var machine = StepRendezvous(tree: try BootTree(kind: .tree(arity: 2), nodeCount: 7), controller: controller)
        #expect(machine.join(endpoint(4)).isEmpty)  // parent 1 has not even joined
        #expect(machine.join(endpoint(3)).isEmpty)
        #expect(machine.join(endpoint(1)) == [.sendParent(rank: 1, parent: controller)])
        #expect(machine.markReady(3).isEmpty)  // a leaf: nobody waits for it
        // Joined is not enough: 1's children may dial only once 1's agent is registered.
        #expect(machine.markReady(1) == [.sendParent(rank: 3, parent: endpoint(1)), .sendParent(rank: 4, parent: endpoint(1))])
        // A child that joins after its parent is ready is answered at once.
        #expect(machine.join(endpoint(2)) == [.sendParent(rank: 2, parent: controller)])
        #expect(machine.markReady(2).isEmpty)
        #expect(machine.join(endpoint(6)) == [.sendParent(rank: 6, parent: endpoint(2))])
        #expect(machine.missing == [5])
    }

    @Test func badAndDuplicateReportsAreRejected() throws {
        var machine = StepRendezvous(tree: try BootTree(kind: .tree(arity: 4), nodeCount: 4), controller: controller)
        #expect(machine.join(endpoint(0)) == [.reject(rank: 0, reason: "rank 0 is not a node of this job (1…3)")])
        #expect(machine.join(endpoint(4)) == [.reject(rank: 4, reason: "rank 4 is not a node of this job (1…3)")])
        #expect(machine.join(endpoint(2)) == [.sendParent(rank: 2, parent: controller)])
        #expect(machine.join(endpoint(2)) == [.reject(rank: 2, reason: "rank 2 joined twice")])
        // Ready from a rank that never joined, or twice, changes nothing.
        #expect(machine.markReady(3).isEmpty)
        #expect(machine.markReady(2).isEmpty)
        #expect(machine.markReady(2).isEmpty)
        #expect(machine.missing == [1, 3])
    }
}
