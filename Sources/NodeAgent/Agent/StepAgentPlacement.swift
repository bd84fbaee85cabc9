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
        guard let text = environment["SLURM_NODEID"] ?? environment["SLURM_PROCID"], let index = Int(text) else {
            throw NodeAgentError("--role step needs SLURM_NODEID (it is started by srun)")
        }
        let host = environment["SLURMD_NODENAME"] ?? ProcessInfo.processInfo.hostName
        guard let address = SSHHostResolver.localAddress(towards: rendezvous.host) else {
            throw NodeAgentError("node \(host): no route to the front-end at \(rendezvous.host)")
        }
        return AgentHost.StepPlacement(rank: index + 1, advertisedHost: address)
    }
}

/// The spawner of an agent that starts no children (a step agent: the step started them all).
struct NoChildrenSpawner: AgentSpawner {
    func spawnAgent(host: String, configuration: AgentProcessConfiguration) async throws -> SpawnedAgent {
        throw ControlError.badConfiguration("a step agent starts no agent processes (asked for one on \(host))")
    }
}
