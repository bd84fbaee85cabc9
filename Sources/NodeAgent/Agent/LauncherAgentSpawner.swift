import Control
import Foundation
import HostProcess
import Launch

/// Starts agent processes with a ``Launcher``: `vhpc-agent --role root`, configuration (with the job secret)
/// on stdin.
public struct LauncherAgentSpawner: AgentSpawner {
    public let launcher: any Launcher
    /// Path of the node agent's executable (`vhpc-agent`) on the target hosts.
    public let executable: String

    public init(launcher: any Launcher, executable: String = AgentExecutable.beside()) {
        self.launcher = launcher
        self.executable = executable
    }

    public func spawnAgent(host: String, configuration: AgentProcessConfiguration) async throws -> SpawnedAgent {
        try AgentExecutable.check(executable)
        let bytes = Array(try JSONEncoder().encode(configuration)) + [UInt8(ascii: "\n")]
        let request = LaunchRequest(
            host: host, executable: executable,
            arguments: AgentExecutable.arguments(role: .root, jobID: configuration.jobID, rank: configuration.roots.first?.rank ?? 0),
            environment: Self.forwardedEnvironment(), standardInput: bytes)
        let process = try await launcher.launch(request)
        return SpawnedAgent(pid: process.pid, waitForExit: { await process.waitForExit() }, signal: { process.signal($0) })
    }

    /// The launcher's sweep; when the agents ran here, then removes what the killed agents (and any that
    /// died) would have: their nodes' PMIx directories.
    public func sweep(_ job: AgentSweep) async {
        await launcher.sweep(job)
        if launcher.startsOnThisMachine { PMIxNodeDirectory.sweep(jobID: job.jobID) }
    }
    public func killAgentsNow(jobID: String) { launcher.killAgentsNow(jobID: jobID) }
    public var agentsRunHere: Bool { launcher.startsOnThisMachine }

    /// Settings agents pass down the tree so every level launches the way the front-end does (an agent
    /// started over ssh gets a fresh login environment): the ssh config file.
    static func forwardedEnvironment() -> [String: String] {
        let environment = ProcessInfo.processInfo.environment
        var forwarded: [String: String] = [:]
        if let config = environment[SSHOptions.configEnvironmentVariable], !config.isEmpty {
            forwarded[SSHOptions.configEnvironmentVariable] = config
        }
        return forwarded
    }
}
