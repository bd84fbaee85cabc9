import Control
import Foundation
import HostProcess
import Launch

/// The process a job step starts on each node (`vhpc agent --role step`): it runs the agent as its child and
/// outlives it, as a child subreaper. Slurm's `proctrack/linuxproc` finds a step's processes by walking the
/// process tree down from slurmstepd, so a task orphaned by an agent killed with SIGKILL (re-parented to
/// init) would escape the step's cleanup. Re-parented to the keeper instead, it is killed when the agent
/// has gone, and the keeper exits with the agent's status.
enum StepKeeper {
    /// Set in the agent the keeper starts.
    static let variable = "VHPC_STEP_KEPT"

    static func run(configurationLine: [UInt8]) async throws -> Int32 {
        ProcessSpawner.becomeSubreaper()
        let executable = ExecutableLookup.currentExecutable()
        let agent = try await LocalLauncher().launch(LaunchRequest(
            host: "localhost", executable: executable, arguments: Array(CommandLine.arguments.dropFirst()),
            environment: [variable: "1"], standardInput: configurationLine + [UInt8(ascii: "\n")]))
        // Signals meant for the step (srun forwards SIGTERM, SIGINT…) go to the agent.
        for number in [SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { agent.signal(number) }
            source.resume()
            keptSources.append(source)
        }
        let status = await agent.waitForExit()
        sweep()
        return status
    }

    nonisolated(unsafe) private static var keptSources: [any DispatchSourceSignal] = []

    /// Kills everything still below this process (tasks orphaned by the agent), bounded to 2 s.
    static func sweep() {
        let deadline = ContinuousClock.now + .seconds(2)
        var leftovers = JobProcessScan.descendants(of: getpid())
        while !leftovers.isEmpty, ContinuousClock.now < deadline {
            for pid in leftovers {
                kill(-pid, SIGKILL)
                kill(pid, SIGKILL)
            }
            usleep(5_000)
            leftovers = JobProcessScan.descendants(of: getpid())
        }
    }
}
