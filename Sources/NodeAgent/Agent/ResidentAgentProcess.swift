import Control
import Foundation
import Launch
import NIOPosix

/// A node's resident agent (`vhpc-agent --role resident`, one of the job step `vhpc agents start` leaves
/// running): reads the allocation's configuration from stdin, listens for front-ends (``ResidentAgentServer``)
/// and starts each job's agent on this node as that job's own step would have. It lives until its step ends
/// (`vhpc agents stop`, `scancel`, the allocation's end): SIGTERM, which its keeper passes on, ends it, and the
/// keeper then ends whatever it started.
enum ResidentAgentProcess {
    static func run(line: [UInt8], environment: [String: String] = ProcessInfo.processInfo.environment) async throws -> Int32 {
        guard StepKeeper.kept else {
            throw NodeAgentError("--role resident: started without its step keeper (run it as exactly `vhpc-agent --role resident`)")
        }
        let configuration: ResidentConfiguration
        do {
            configuration = try JSONDecoder().decode(ResidentConfiguration.self, from: Data(line))
        } catch {
            throw NodeAgentError("cannot read the resident configuration from stdin: \(error)")
        }
        guard let node = environment["SLURMD_NODENAME"], let job = environment["SLURM_JOB_ID"], let step = environment["SLURM_STEP_ID"] else {
            throw NodeAgentError("--role resident needs SLURMD_NODENAME, SLURM_JOB_ID and SLURM_STEP_ID (it is started by srun)")
        }
        let address = try StepAgentPlacement.address(towards: configuration.report.host, node: node)
        signal(SIGPIPE, SIG_IGN)
        ResourceLimits.raiseOpenFiles()
        let server = try await ResidentAgentServer.serve(
            group: MultiThreadedEventLoopGroup.singleton, bindHost: address, configuration: configuration, node: node,
            step: "\(job).\(step)", advertisedHost: address, executable: AgentExecutable.beside())
        // Serves until the step ends (SIGTERM from the keeper).
        while true {
            try? await Task.sleep(for: .seconds(3600))
            _ = server.port
        }
    }
}
