import Control
import Foundation
import Launch

/// Where a step agent (`vhpc-agent --role step`) stands: its rank from the resource manager's environment
/// (Slurm: `SLURM_NODEID`, one task per node), and the address of this node that reaches the front-end.
enum StepAgentPlacement {
    static func current(
        configuration: AgentProcessConfiguration, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> AgentHost.StepPlacement {
        guard let rendezvous = configuration.rendezvous else {
            throw NodeAgentError("--role step needs a configuration with a rendezvous")
        }
        let index: Int
        if let rank = configuration.stepRank {
            index = rank - 1
        } else if let text = environment["SLURM_NODEID"] ?? environment["SLURM_PROCID"], let number = Int(text) {
            index = number
        } else {
            throw NodeAgentError("--role step needs SLURM_NODEID (it is started by srun)")
        }
        let host = environment["SLURMD_NODENAME"] ?? ProcessInfo.processInfo.hostName
        return AgentHost.StepPlacement(rank: index + 1, advertisedHost: try address(towards: rendezvous.host, node: host))
    }

    /// This node's address on the route to the front-end at `frontEnd` (`node` names the node in the error).
    static func address(towards frontEnd: String, node: String) throws -> String {
        guard let address = SSHHostResolver.localAddress(towards: frontEnd) else {
            throw NodeAgentError("node \(node): no route to the front-end at \(frontEnd)")
        }
        return address
    }
}

/// The spawner of an agent that starts no children (a step agent: the step started them all).
struct NoChildrenSpawner: AgentSpawner {
    func spawnAgent(host: String, configuration: AgentProcessConfiguration) async throws -> SpawnedAgent {
        throw ControlError.badConfiguration("a step agent starts no agent processes (asked for one on \(host))")
    }
}
