import Foundation

/// `--launcher pbs`: agents on the hosts of a PBS/Torque nodefile. A host that is this machine is started
/// locally, without ssh; the others over ssh, as MPICH's hydra does without the TM interface. Both keep the
/// ssh launcher's lifetime contract (the agent's stdin stays open while its launcher lives), so agents behave
/// the same however they were started. `pbsdsh` is not used: it does not pass stdin, which is how agents
/// receive the job secret (see the README).
public struct PBSLauncher: Launcher {
    public var name: String { "pbs" }
    /// Names of this machine (host name, and the front-end's advertised address).
    public let localNames: Set<String>
    public let ssh: SSHLauncher

    public init(localNames: Set<String>, ssh: SSHLauncher = SSHLauncher()) {
        self.localNames = localNames
        self.ssh = ssh
    }

    public func launch(_ request: LaunchRequest) async throws -> any LaunchedProcess {
        guard localNames.contains(request.host) else { return try await ssh.launch(request) }
        var local = request
        // Not an ssh session: the agent must not take the front-end's own SSH_CONNECTION for its own.
        local.environment["SSH_CONNECTION"] = ""
        return try await LocalLauncher(keepsStandardInputOpen: true).launch(local)
    }
}
