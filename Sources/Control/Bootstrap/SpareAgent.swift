import HostProcess
import Launch
import NIOCore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The node agent of a resident agent's next job, started ahead of it: exec'd, through its start-up (and
/// first uses, ``AgentWarmUp``), waiting on stdin, as a prestarted step's agents wait for srun to forward their
/// configuration. A job takes it; the next one starts after the job (``replenish(after:)``). One that died
/// meanwhile, or none yet, means a fresh start.
final class SpareAgent: Sendable {
    private let executable: String
    private let jobID: String
    private let waiting = Mutex<(agent: NodeJobAgent, input: Int32)?>(nil)

    init(executable: String, jobID: String) {
        self.executable = executable
        self.jobID = jobID
    }

    /// Starts the job's agent with `configuration` (its line on stdin); its stderr goes to `output`.
    func start(configuration line: [UInt8], output: any Channel) async throws -> NodeJobAgent {
        if let (agent, input) = waiting.withLock({ spare in defer { spare = nil }; return spare }) {
            line.withUnsafeBytes { writeAll(input, $0) }
            close(input)
            if !ChildReaper.shared.hasExited(agent.process.pid) {
                agent.attach(output)
                return agent
            }
            agent.process.signal(SIGKILL)
        }
        let (agent, input) = try await launch(spare: false)
        line.withUnsafeBytes { writeAll(input, $0) }
        close(input)
        agent.attach(output)
        return agent
    }

    /// Starts the next spare in the background (unless one waits), `delay` from now: after a job, its front-end
    /// ends in that time without the spare's start on the node's cores.
    func replenish(after delay: Duration = .zero) {
        Task {
            if delay > .zero { try? await Task.sleep(for: delay) }
            guard waiting.withLock({ $0 == nil }), let (agent, input) = try? await launch(spare: true) else { return }
            let kept = waiting.withLock { spare -> Bool in
                guard spare == nil else { return false }
                spare = (agent, input)
                return true
            }
            if !kept {
                close(input)
                agent.process.signal(SIGKILL)
            }
        }
    }

    private func launch(spare: Bool) async throws -> (NodeJobAgent, Int32) {
        let errors = try ProcessSpawner.makePipe()
        let request = LaunchRequest(
            host: "localhost", executable: executable, arguments: AgentExecutable.arguments(role: .step, jobID: jobID),
            environment: spare ? [ResidentAgents.spareVariable: "1"] : [:])
        do {
            let (process, input) = try await LocalLauncher().start(request, standardError: errors.write)
            close(errors.write)
            return (NodeJobAgent(process: process, errors: StderrRelay.reading(errors.read)), input)
        } catch {
            close(errors.read)
            close(errors.write)
            throw error
        }
    }
}
